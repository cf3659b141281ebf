/**
 * A call's context (src/agent/grpc/call-context.ts) is one node on its parent instead of a copy of
 * the parent's values. It must read exactly like the API's own contexts: the span through the trace
 * API, every value of the parent, values set and deleted later (by the app, by propagators), at any
 * depth, including past the depth where nodes become the API's contexts again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Context, createContextKey, propagation, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import { contextWithSpan } from '../src/agent/grpc/call-context.ts';

const spanNamed = (spanId: string): Span =>
  trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId, traceFlags: 1 });
const KEYS = Array.from({ length: 20 }, (_, index) => createContextKey(`key ${index}`));

/** The same operations on an API context and on a call context; every key must read the same. */
function assertSameValues(expected: Context, actual: Context): void {
  for (const key of KEYS) assert.equal(actual.getValue(key), expected.getValue(key), String(key.description));
  assert.equal(trace.getSpan(actual), trace.getSpan(expected));
  assert.equal(propagation.getBaggage(actual), propagation.getBaggage(expected));
}

describe('the context a gRPC call runs in', () => {
  test("carries the span for the trace API, and the parent's values", () => {
    const parent = ROOT_CONTEXT.setValue(KEYS[0] as symbol, 'from the app');
    const span = spanNamed('b7ad6b7169203331');
    const context = contextWithSpan(parent, span);
    assert.equal(trace.getSpan(context), span);
    assert.equal(trace.getSpanContext(context)?.spanId, 'b7ad6b7169203331');
    assert.equal(context.getValue(KEYS[0] as symbol), 'from the app');
    assertSameValues(trace.setSpan(parent, span), context);
  });

  test('replaces the span of a parent that has one, and leaves the parent as it was', () => {
    const outer = spanNamed('00f067aa0ba902b7');
    const parent = trace.setSpan(ROOT_CONTEXT, outer);
    const inner = spanNamed('b7ad6b7169203331');
    const context = contextWithSpan(parent, inner);
    assert.equal(trace.getSpan(context), inner);
    assert.equal(trace.getSpan(parent), outer);
  });

  test('reads like the API contexts through sets and deletes, deeper than a chain of nodes goes', () => {
    let expected: Context = ROOT_CONTEXT;
    let actual: Context = ROOT_CONTEXT;
    for (let step = 0; step < 40; step++) {
      const span = spanNamed((step + 1).toString(16).padStart(16, '0'));
      expected = trace.setSpan(expected, span);
      actual = step % 3 === 0 ? contextWithSpan(actual, span) : trace.setSpan(actual, span);
      const key = KEYS[step % KEYS.length] as symbol;
      if (step % 4 === 3) {
        expected = expected.deleteValue(key);
        actual = actual.deleteValue(key);
      } else {
        expected = expected.setValue(key, step);
        actual = actual.setValue(key, step);
      }
      assertSameValues(expected, actual);
    }
  });

  test('a deleted span stays deleted, and the baggage the app sets is read back', () => {
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const context = propagation.setBaggage(contextWithSpan(ROOT_CONTEXT, spanNamed('b7ad6b7169203331')), baggage);
    assert.equal(propagation.getBaggage(context), baggage);
    assert.equal(trace.getSpan(trace.deleteSpan(context)), undefined);
  });
});
