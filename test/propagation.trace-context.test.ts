/**
 * Our TraceContextPropagator (src/agent/propagation/trace-context.ts) against @opentelemetry/core's
 * W3CTraceContextPropagator, which it replaces: on the same inputs, inject sets the same headers and
 * extract yields the same span context, or returns the very context it was given.
 *
 * Seeds are random: a failure prints the seed and the shrunk input, to replay with
 * `fc.assert(…, { seed, path })`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Context,
  createContextKey,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { suppressTracing, TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import { buildPropagator } from '../src/agent/propagation/propagators.ts';
import { TraceContextPropagator } from '../src/agent/propagation/trace-context.ts';

const RUNS = 1000;
const upstream = new W3CTraceContextPropagator();
const ours = new TraceContextPropagator();

// ---------------------------------------------------------------------------------------------
// Running both

type Carrier = Record<string, unknown>;

/** A span context as compared: its own keys in order, and its trace state as serialized. */
function describeSpanContext(spanContext: SpanContext | undefined) {
  if (spanContext === undefined) return undefined;
  const { traceState, ...rest } = spanContext;
  return {
    keys: Object.keys(spanContext),
    ...rest,
    traceState: traceState === undefined ? undefined : { serialized: traceState.serialize() },
  };
}

/** What extract did: the headers it read, whether it returned its input, the span context it set. */
function runExtract(propagator: TextMapPropagator, base: Context, carrier: Carrier) {
  const read: string[] = [];
  const getter: TextMapGetter<Carrier> = {
    get(c, key) {
      read.push(key);
      return defaultTextMapGetter.get(c, key);
    },
    keys: (c) => defaultTextMapGetter.keys(c),
  };
  const result = propagator.extract(base, carrier, getter);
  return {
    read,
    unchanged: result === base,
    spanContext: describeSpanContext(trace.getSpanContext(result)),
    otherValue: result.getValue(OTHER_KEY),
  };
}

/** How many extracts set a span context and how many returned their input, to check the generators. */
const outcomes = { extracted: 0, unchanged: 0 };

function assertSameExtract(carrier: Carrier, base: Context = ROOT_CONTEXT) {
  const expected = runExtract(upstream, base, carrier);
  assert.deepEqual(runExtract(ours, base, carrier), expected);
  outcomes[expected.unchanged ? 'unchanged' : 'extracted']++;
  return expected;
}

/** Runs a property and checks that its inputs were both extracted and rejected, at least `share` of each. */
function assertBothOutcomes(run: () => void, share: number) {
  outcomes.extracted = 0;
  outcomes.unchanged = 0;
  run();
  const total = outcomes.extracted + outcomes.unchanged;
  assert.ok(outcomes.extracted >= total * share, `extracted ${outcomes.extracted} of ${total}`);
  assert.ok(outcomes.unchanged >= total * share, `unchanged ${outcomes.unchanged} of ${total}`);
}

/** What inject did: the setter's calls in order, or the error it threw. */
function runInject(propagator: TextMapPropagator, context: Context) {
  const carrier: Carrier = {};
  const calls: [string, string][] = [];
  const setter: TextMapSetter<Carrier> = {
    set(c, key, value) {
      calls.push([key, value]);
      defaultTextMapSetter.set(c, key, value);
    },
  };
  try {
    propagator.inject(context, carrier, setter);
  } catch (error) {
    return { threw: (error as Error).constructor.name, calls };
  }
  return { calls, carrier };
}

function assertSameInject(context: Context) {
  const expected = runInject(upstream, context);
  assert.deepEqual(runInject(ours, context), expected);
  return expected;
}

/** Injects a span context through a proxy, so that the properties read, in order, are compared too. */
function assertSameInjectRecorded(spanContext: SpanContext, suppressed: boolean) {
  const run = (propagator: TextMapPropagator) => {
    const reads: PropertyKey[] = [];
    const recorded = new Proxy(spanContext, {
      get(target, key, receiver) {
        reads.push(key);
        return Reflect.get(target, key, receiver);
      },
    });
    const context = trace.setSpanContext(ROOT_CONTEXT, recorded);
    return { ...runInject(propagator, suppressed ? suppressTracing(context) : context), reads };
  };
  assert.deepEqual(run(ours), run(upstream));
}

const OTHER_KEY = createContextKey('test: another value');
const PARENT: SpanContext = {
  traceId: '11111111111111111111111111111111',
  spanId: '2222222222222222',
  traceFlags: 1,
};
/** Contexts extract starts from: empty, with a local parent span, suppressed, with another value. */
const BASES: readonly Context[] = [
  ROOT_CONTEXT,
  trace.setSpanContext(ROOT_CONTEXT, PARENT),
  suppressTracing(ROOT_CONTEXT),
  ROOT_CONTEXT.setValue(OTHER_KEY, 'kept'),
];

// ---------------------------------------------------------------------------------------------
// Generators

const LOWER_HEX = '0123456789abcdef';
const ANY_HEX = '0123456789abcdefABCDEF';
const hexString = (length: number, digits = LOWER_HEX) =>
  fc.string({ unit: fc.constantFrom(...digits), minLength: length, maxLength: length });
/** Ids with all-zero and mostly-zero ones often, as the zero checks are edge cases. */
const id = (length: number) =>
  fc.oneof(
    { weight: 6, arbitrary: hexString(length) },
    { weight: 1, arbitrary: fc.constant('0'.repeat(length)) },
    { weight: 1, arbitrary: fc.nat(length - 1).map((at) => `${'0'.repeat(at)}1${'0'.repeat(length - at - 1)}`) },
  );
const version = fc.oneof(
  { weight: 4, arbitrary: fc.constant('00') },
  { weight: 1, arbitrary: fc.constantFrom('01', 'cc', 'fe', 'ff', 'f0', '0f') },
  { weight: 1, arbitrary: hexString(2) },
);
const flags = fc.oneof(fc.constantFrom('00', '01', '02', '03', '09', '10', 'ff'), hexString(2));
/** Characters the parser must tell apart: separators, every kind of whitespace, near-hex, non-ASCII. */
const TRICKY_CHARS = [
  ...'0123456789abcdefABCDEFgGxz-_. ',
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  '\u0010',
  '\u0019',
  '\u0085',
  '\u00a0',
  '\u1680',
  '\u180e',
  '\u2000',
  '\u200a',
  '\u200b',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\ufeff',
  'é',
  // Non-ASCII whose low seven bits are a hex digit: '0', '1', 'a'.
  '\u00b0',
  '\u0131',
  '\u00e1',
  '\u0660',
  '\uff10',
  '\ud83d',
  '😀',
];
const trickyChar = fc.constantFrom(...TRICKY_CHARS);
const suffix = fc.oneof(
  fc.constantFrom('', '-', '-x', '-what-the-future-will-be-like', '- ', '-\n', '-x\n', '-x\ny', '-\r\n', '-\u2028'),
  fc.string({ unit: trickyChar, maxLength: 8 }).map((rest) => `-${rest}`),
);
/** Up to two characters for either end: every character `\\s` matches, and some it does not. */
const spaces = fc.string({
  unit: fc.constantFrom(
    ...' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff',
    ...'\u180e\u200b\u0085\u0000x-',
  ),
  maxLength: 2,
});

/** Well-formed traceparents, most of them valid; extra parts and zero ids included. */
const traceparent = fc
  .tuple(version, id(32), id(16), flags, fc.option(suffix, { freq: 4, nil: '' }))
  .map(([v, traceId, spanId, f, rest]) => `${v}-${traceId}-${spanId}-${f}${rest}`);

type Mutation = (s: string) => string;
const at = (s: string, index: number) => index % (s.length + 1);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), trickyChar).map(
    ([i, c]): Mutation =>
      (s) =>
        s.slice(0, at(s, i)) + c + s.slice(at(s, i) + 1),
  ),
  fc.tuple(fc.nat(), trickyChar).map(
    ([i, c]): Mutation =>
      (s) =>
        s.slice(0, at(s, i)) + c + s.slice(at(s, i)),
  ),
  fc.nat().map(
    (i): Mutation =>
      (s) =>
        s.slice(0, at(s, i)) + s.slice(at(s, i) + 1),
  ),
  fc.constant<Mutation>((s) => s.toUpperCase()),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([i, j]): Mutation =>
      (s) => {
        const [from, to] = [at(s, i), at(s, j)].sort((a, b) => a - b);
        return s.slice(0, from) + s.slice(from, to).toUpperCase() + s.slice(to);
      },
  ),
  fc.tuple(spaces, spaces).map(
    ([before, after]): Mutation =>
      (s) =>
        before + s + after,
  ),
  fc.constantFrom('_', '.', ' ', '--', '+').map(
    (sep): Mutation =>
      (s) =>
        s.replaceAll('-', sep),
  ),
  fc.oneof(version, fc.constantFrom('FF', 'Ff', '0', '000', 'zz', '')).map(
    (v): Mutation =>
      (s) =>
        v + s.slice(2),
  ),
  suffix.map(
    (rest): Mutation =>
      (s) =>
        s + rest,
  ),
  fc.constant<Mutation>((s) => `${s.slice(0, 3)}${'0'.repeat(32)}${s.slice(35)}`),
  fc.constant<Mutation>((s) => `${s.slice(0, 36)}${'0'.repeat(16)}${s.slice(52)}`),
  fc.constant<Mutation>((s) => s.slice(0, -1)),
  fc.constant<Mutation>((s) => `${s}0`),
);
const mutated = fc
  .tuple(traceparent, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([s, mutations]) => mutations.reduce((acc, m) => m(acc), s));

const randomString = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.string({ unit: trickyChar, minLength: 50, maxLength: 60 }),
);

const keyChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-*/');
const simpleKey = fc
  .tuple(fc.constantFrom(...'abcxyz'), fc.string({ unit: keyChar, maxLength: 10 }))
  .map(([first, rest]) => first + rest);
const vendorKey = fc
  .tuple(fc.constantFrom(...'a0z9'), fc.string({ unit: keyChar, maxLength: 6 }), simpleKey)
  .map(([first, tenant, system]) => `${first}${tenant}@${system}`);
const valueChar = fc.constantFrom(...'abcXYZ0129!~ ._-+/:;"\'<>?@[]^{}|');
const stateValue = fc.oneof(
  fc.string({ unit: valueChar, minLength: 1, maxLength: 12 }),
  fc.string({ unit: valueChar, minLength: 250, maxLength: 260 }),
);
const member = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.oneof(simpleKey, vendorKey), stateValue).map(([k, v]) => `${k}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'novalue', '=v', 'K=v', 'k=', 'k=a,b', 'k==v', 'k=v ', ' k=v\t') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
/** tracestate headers: lists of valid and invalid members, up to past the 32-member and 512-character limits. */
const tracestate = fc.oneof(
  fc
    .tuple(fc.array(member, { maxLength: 40 }), fc.constantFrom(',', ', ', ' ,', ',,', '\t,'))
    .map(([members, sep]) => members.join(sep)),
  fc.string({ maxLength: 40 }),
);

/** A header value as a plain-object carrier may hold it: a string, an array, or something else. */
const headerValue = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: value },
    { weight: 2, arbitrary: fc.array(value, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, null, '', [], [''], [undefined], 0, 1, true, {}, [1]) },
  );

const carrierOf = (parent: fc.Arbitrary<unknown>, state: fc.Arbitrary<unknown>) =>
  fc.tuple(parent, state).map(([tp, ts]) => {
    const carrier: Carrier = {};
    if (tp !== undefined) carrier.traceparent = tp;
    if (ts !== undefined) carrier.tracestate = ts;
    return carrier;
  });
const base = fc.constantFrom(...BASES);

// ---------------------------------------------------------------------------------------------
// Extract

describe('extract: the same as upstream', () => {
  test('on valid and near-valid traceparents', () => {
    assertBothOutcomes(
      () =>
        fc.assert(
          fc.property(carrierOf(traceparent, fc.option(tracestate, { nil: undefined })), base, (carrier, context) => {
            assertSameExtract(carrier, context);
          }),
          { numRuns: 2 * RUNS },
        ),
      0.2,
    );
  });

  test('on mutated traceparents', () => {
    assertBothOutcomes(
      () =>
        fc.assert(
          fc.property(carrierOf(mutated, fc.option(tracestate, { nil: undefined })), base, (carrier, context) => {
            assertSameExtract(carrier, context);
          }),
          { numRuns: 5 * RUNS },
        ),
      0.02,
    );
  });

  test('on random strings', () => {
    fc.assert(
      fc.property(carrierOf(randomString, fc.option(randomString, { nil: undefined })), base, (carrier, context) => {
        assertSameExtract(carrier, context);
      }),
      { numRuns: 2 * RUNS },
    );
  });

  test('on tracestate lists, valid and not, long and with many members', () => {
    const validParent = fc
      .tuple(hexString(32), hexString(16), flags)
      .filter(([traceId, spanId]) => /[1-9a-f]/.test(traceId) && /[1-9a-f]/.test(spanId))
      .map(([traceId, spanId, f]) => `00-${traceId}-${spanId}-${f}`);
    fc.assert(
      fc.property(carrierOf(validParent, headerValue(tracestate)), (carrier) => {
        const { spanContext } = assertSameExtract(carrier);
        assert.ok(spanContext, 'a valid traceparent is extracted');
      }),
      { numRuns: 2 * RUNS },
    );
  });

  test('on header values that are arrays, empty or not strings', () => {
    const parent = headerValue(fc.oneof(traceparent, mutated));
    assertBothOutcomes(
      () =>
        fc.assert(
          fc.property(carrierOf(parent, headerValue(tracestate)), base, (carrier, context) => {
            assertSameExtract(carrier, context);
          }),
          { numRuns: 2 * RUNS },
        ),
      0.1,
    );
  });
});

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const ZEROS32 = '0'.repeat(32);
const ZEROS16 = '0'.repeat(16);
const valid = (traceFlags = 1, traceId = TRACE_ID, spanId = SPAN_ID) => ({ traceId, spanId, traceFlags });

/** Hand-written cases, most from the W3C Trace Context spec; each with the outcome we expect. */
const EXTRACT_CASES: readonly [name: string, carrier: Carrier, expected: ReturnType<typeof valid> | null][] = [
  ['spec example', { traceparent: TP }, valid()],
  [
    'spec example 2',
    { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    valid(1, '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'),
  ],
  ['not sampled', { traceparent: TP.replace(/01$/, '00') }, valid(0)],
  ['unknown flags kept', { traceparent: TP.replace(/01$/, '09') }, valid(9)],
  ['all flags', { traceparent: TP.replace(/01$/, 'ff') }, valid(255)],
  ['uppercase flags', { traceparent: TP.replace(/01$/, '0A') }, null],
  ['uppercase trace id', { traceparent: TP.toUpperCase() }, null],
  ['uppercase span id', { traceparent: TP.replace(SPAN_ID, SPAN_ID.toUpperCase()) }, null],
  ['version ff', { traceparent: `ff${TP.slice(2)}` }, null],
  ['version FF', { traceparent: `FF${TP.slice(2)}` }, null],
  ['version fe', { traceparent: `fe${TP.slice(2)}` }, valid()],
  ['future version with more parts', { traceparent: `cc${TP.slice(2)}-what-the-future-will-be-like` }, valid()],
  ['future version with an empty part', { traceparent: `01${TP.slice(2)}-` }, valid()],
  ['future version, more parts without dash', { traceparent: `cc${TP.slice(2)}xyz` }, null],
  ['version 00 with more parts', { traceparent: `${TP}-extra` }, null],
  ['version 00 with a dash', { traceparent: `${TP}-` }, null],
  ['zero trace id', { traceparent: TP.replace(TRACE_ID, ZEROS32) }, null],
  ['zero span id', { traceparent: TP.replace(SPAN_ID, ZEROS16) }, null],
  ['trace id one short', { traceparent: TP.replace(TRACE_ID, TRACE_ID.slice(1)) }, null],
  ['span id one long', { traceparent: TP.replace(SPAN_ID, `${SPAN_ID}0`) }, null],
  ['one space around', { traceparent: ` ${TP} ` }, valid()],
  ['tab and newline around', { traceparent: `\t${TP}\n` }, valid()],
  ['no-break space before', { traceparent: `\u00a0${TP}` }, valid()],
  ['zero-width no-break space before', { traceparent: `\ufeff${TP}` }, valid()],
  ['ideographic space after', { traceparent: `${TP}\u3000` }, valid()],
  ['Mongolian vowel separator (no longer a space) before', { traceparent: `\u180e${TP}` }, null],
  ['zero-width space after', { traceparent: `${TP}\u200b` }, null],
  ['two spaces before', { traceparent: `  ${TP}` }, null],
  ['two spaces after', { traceparent: `${TP}  ` }, null],
  ['future version, line break at the end', { traceparent: `cc${TP.slice(2)}-x\n` }, valid()],
  ['future version, line break inside', { traceparent: `cc${TP.slice(2)}-x\ny` }, null],
  ['future version, two line breaks', { traceparent: `cc${TP.slice(2)}-x\r\n` }, null],
  ['non-hex digit', { traceparent: TP.replace('4bf9', '4bg9') }, null],
  ['underscores', { traceparent: TP.replaceAll('-', '_') }, null],
  ['empty', { traceparent: '' }, null],
  ['absent', {}, null],
  ['array: the first is used', { traceparent: [TP, 'garbage'] }, valid()],
  ['array: a bad first is not skipped', { traceparent: ['garbage', TP] }, null],
  ['empty array', { traceparent: [] }, null],
  ['a number', { traceparent: 1 }, null],
  ['with tracestate', { traceparent: TP, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' }, valid()],
  ['tracestate array', { traceparent: TP, tracestate: ['rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE'] }, valid()],
  ['empty tracestate', { traceparent: TP, tracestate: '' }, valid()],
  ['empty tracestate array', { traceparent: TP, tracestate: [] }, valid()],
  ['tracestate not a string', { traceparent: TP, tracestate: 42 }, valid()],
  ['invalid tracestate members', { traceparent: TP, tracestate: 'Bad=1,good=2,novalue,=x,k=a b,z=' }, valid()],
  [
    '33 tracestate members',
    { traceparent: TP, tracestate: Array.from({ length: 33 }, (_, i) => `k${i}=v${i}`).join(',') },
    valid(),
  ],
  ['long tracestate', { traceparent: TP, tracestate: `a=${'x'.repeat(255)},b=${'y'.repeat(255)},c=z` }, valid()],
];

describe('extract: hand-written cases', () => {
  for (const [name, carrier, expected] of EXTRACT_CASES) {
    test(name, () => {
      for (const context of BASES) {
        const result = assertSameExtract(carrier, context);
        if (expected === null) {
          assert.equal(result.unchanged, true);
        } else {
          assert.equal(result.unchanged, false);
          assert.deepEqual(
            { traceId: result.spanContext?.traceId, spanId: result.spanContext?.spanId },
            { traceId: expected.traceId, spanId: expected.spanId },
          );
          assert.equal(result.spanContext?.traceFlags, expected.traceFlags);
          assert.equal(result.spanContext?.isRemote, true);
        }
      }
    });
  }

  test('tracestate is parsed as upstream parses it', () => {
    const result = assertSameExtract({ traceparent: TP, tracestate: 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE' });
    assert.equal(result.spanContext?.traceState?.serialized, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  });
});

// ---------------------------------------------------------------------------------------------
// Inject

const anyId = (length: number) =>
  fc.oneof(
    { weight: 4, arbitrary: id(length) },
    { weight: 1, arbitrary: hexString(length, ANY_HEX) },
    { weight: 1, arbitrary: fc.oneof(hexString(length - 1), hexString(length + 1), fc.constant('')) },
    { weight: 1, arbitrary: fc.string({ unit: trickyChar, minLength: length, maxLength: length }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(hexString(length, ANY_HEX), fc.nat(length - 1), trickyChar)
        .map(([hex, i, c]) => hex.slice(0, i) + c + hex.slice(i + 1)),
    },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 0, 123, ['a'.repeat(length)]) },
  );
const traceFlags = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, -1, -0, 256, 1.5, NaN, '1', '01', 'x', true) },
);
const traceState = fc.oneof(
  fc.constant(undefined),
  fc.constant(new TraceState()),
  fc.constant(new TraceState('')),
  tracestate.map((raw) => new TraceState(raw)),
  fc.tuple(simpleKey, stateValue).map(([k, v]) => new TraceState().set(k, v)),
);
const spanContext = fc
  .record({ traceId: anyId(32), spanId: anyId(16), traceFlags, traceState, isRemote: fc.boolean() })
  .map((sc) => sc as unknown as SpanContext);

describe('inject: the same as upstream', () => {
  test('for random span contexts, valid and not, suppressed or not', () => {
    fc.assert(
      fc.property(spanContext, fc.boolean(), (sc, suppressed) => assertSameInjectRecorded(sc, suppressed)),
      { numRuns: 3 * RUNS },
    );
  });

  test('hand-written cases', () => {
    const inject = (sc: Partial<SpanContext> | undefined, suppressed = false) => {
      let context = sc ? trace.setSpanContext(ROOT_CONTEXT, sc as SpanContext) : ROOT_CONTEXT;
      if (suppressed) context = suppressTracing(context);
      return assertSameInject(context);
    };
    const sc = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 };
    assert.deepEqual(inject(sc).calls, [['traceparent', TP]]);
    assert.deepEqual(inject({ ...sc, traceFlags: 0 }).calls, [['traceparent', TP.replace(/01$/, '00')]]);
    // Upstream writes the flags unmasked, `0` and their hex: 255 gives three characters.
    assert.deepEqual(inject({ ...sc, traceFlags: 255 }).calls, [['traceparent', `${TP.slice(0, -2)}0ff`]]);
    assert.deepEqual(inject({ ...sc, traceFlags: 16 }).calls, [['traceparent', `${TP.slice(0, -2)}010`]]);
    assert.deepEqual(inject({ traceId: TRACE_ID, spanId: SPAN_ID } as SpanContext).calls, [
      ['traceparent', TP.replace(/01$/, '00')],
    ]);
    // The API's validity check takes uppercase ids; they are sent as they are.
    assert.deepEqual(inject({ ...sc, traceId: TRACE_ID.toUpperCase() }).calls, [
      ['traceparent', TP.replace(TRACE_ID, TRACE_ID.toUpperCase())],
    ]);
    // An empty trace state is still a trace state: upstream sends an empty header.
    assert.deepEqual(inject({ ...sc, traceState: new TraceState() }).calls, [
      ['traceparent', TP],
      ['tracestate', ''],
    ]);
    assert.deepEqual(inject({ ...sc, traceState: new TraceState('congo=t61rcWkgMzE') }).calls, [
      ['traceparent', TP],
      ['tracestate', 'congo=t61rcWkgMzE'],
    ]);
    assert.deepEqual(inject(sc, true).calls, []);
    assert.deepEqual(inject(undefined).calls, []);
    assert.deepEqual(inject({ ...sc, traceId: ZEROS32 }).calls, []);
    assert.deepEqual(inject({ ...sc, spanId: ZEROS16 }).calls, []);
    assert.deepEqual(inject({ ...sc, spanId: `${SPAN_ID.slice(1)}g` }).calls, []);
    assert.deepEqual(inject({ ...sc, spanId: `${SPAN_ID.slice(1)}\u00e1` }).calls, []);
    // A trace state without serialize() throws in both.
    assert.equal(inject({ ...sc, traceState: {} as TraceState }).threw, 'TypeError');
  });

  test('fields() are the same', () => {
    assert.deepEqual(ours.fields(), upstream.fields());
  });

  test('what inject writes, extract reads back', () => {
    fc.assert(
      fc.property(spanContext, (sc) => {
        const carrier: Carrier = {};
        ours.inject(trace.setSpanContext(ROOT_CONTEXT, sc), carrier, defaultTextMapSetter);
        assertSameExtract(carrier);
      }),
      { numRuns: RUNS },
    );
  });
});

test('OTEL_PROPAGATORS=tracecontext injects and extracts', () => {
  const carrier: Carrier = {};
  const context = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
  buildPropagator(['tracecontext']).inject(context, carrier, defaultTextMapSetter);
  assert.deepEqual(carrier, { traceparent: TP });
  const extracted = buildPropagator(['tracecontext']).extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  assert.deepEqual(trace.getSpanContext(extracted), { ...valid(), isRemote: true });
});
