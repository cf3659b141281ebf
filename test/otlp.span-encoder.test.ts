/**
 * Our OTLP/protobuf span encoder (src/agent/exporters/otlp-span-encoder.ts) against the serializer it replaces,
 * otlp-transformer's ProtobufTraceSerializer: the same bytes for every batch, spans made by the real
 * SDK (TracerProvider, limits, events, links, parents), plus attribute values only hand-made spans
 * carry (kvlists, bytes, mixed arrays, null). One test decodes our bytes with the official proto
 * definitions, to show the message is valid on its own terms too.
 *
 * Seeds are random: a failure prints the seed and the shrunk batch, to replay with
 * `fc.assert(…, { seed, path })`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Attributes,
  type AttributeValue,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, type ReadableSpan, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { ProtobufSpanEncoder } from '../src/agent/exporters/otlp-span-encoder.ts';
import { ExportTraceServiceRequest, referenceDecode } from './support/otlp-reference.ts';

const RUNS = 300;

// ---------------------------------------------------------------------------------------------
// The comparison

function upstream(spans: ReadableSpan[]): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(bytes, 'upstream made no body');
  return bytes;
}

/** Fails unless our bytes are upstream's, naming the first byte that differs. */
function assertSameBytes(ours: Uint8Array, theirs: Uint8Array): void {
  if (Buffer.compare(ours, theirs) === 0) return;
  let at = 0;
  while (at < ours.length && at < theirs.length && ours[at] === theirs[at]) at++;
  const around = (bytes: Uint8Array) => Buffer.from(bytes.subarray(Math.max(0, at - 8), at + 8)).toString('hex');
  assert.fail(
    `encodings differ at byte ${at} (ours ${ours.length} bytes, upstream ${theirs.length}): ` +
      `ours …${around(ours)}…, upstream …${around(theirs)}…`,
  );
}

function assertSameAsUpstream(spans: ReadableSpan[]): Uint8Array {
  const ours = ProtobufSpanEncoder.serializeRequest(spans);
  assertSameBytes(ours, upstream(spans));
  return ours;
}

// ---------------------------------------------------------------------------------------------
// Spans from the real SDK

class Collect implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

interface Limits {
  attributeCountLimit?: number;
  attributeValueLengthLimit?: number;
  eventCountLimit?: number;
  linkCountLimit?: number;
  attributePerEventCountLimit?: number;
  attributePerLinkCountLimit?: number;
}

function provider(resource: Resource, spanLimits: Limits = {}) {
  const collect = new Collect();
  // Always on: an unsampled parent must not make a span non-recording (and missing from the batch).
  const sampler = new AlwaysOnSampler();
  return { tracerProvider: new TracerProvider({ resource, spanLimits, sampler, spanProcessors: [collect] }), collect };
}

/** A span with some of its fields replaced, still the SDK's span underneath (spanContext() and all). */
function withFields(span: ReadableSpan, fields: Partial<Record<keyof ReadableSpan, unknown>>): ReadableSpan {
  return Object.create(span, Object.fromEntries(Object.entries(fields).map(([k, value]) => [k, { value }])));
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

const remoteParent = (traceState?: TraceState): Context =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: 1,
    isRemote: true,
    ...(traceState ? { traceState } : {}),
  });

// ---------------------------------------------------------------------------------------------
// Hand-written cases

describe('ProtobufSpanEncoder: hand-written cases, same bytes as ProtobufTraceSerializer', () => {
  const resource = resourceFromAttributes({ 'service.name': 'kv', 'service.instance.id': 'a-1', pid: 4242 });

  test('an empty batch is an empty body', () => {
    const ours = assertSameAsUpstream([]);
    assert.equal(ours.length, 0);
  });

  test('the comparison fails when one byte differs', () => {
    const { tracerProvider, collect } = provider(resource);
    tracerProvider.getTracer('t').startSpan('s').end();
    const theirs = upstream(collect.spans);
    const changed = Uint8Array.from(theirs);
    changed[changed.length - 1] = (theirs.at(-1) ?? 0) ^ 1;
    assert.throws(() => assertSameBytes(changed, theirs), /encodings differ at byte/);
    assert.throws(() => assertSameBytes(theirs.subarray(1), theirs), /encodings differ/);
  });

  test('every attribute value type setAttribute takes, with awkward numbers and strings', () => {
    const { tracerProvider, collect } = provider(resource);
    const span = tracerProvider.getTracer('values', '1.0.0').startSpan('values');
    const values: Record<string, AttributeValue> = {
      str: 'grpc',
      empty: '',
      unicode: 'héllo wörld ✓ 日本語',
      emoji: '🚀👍🏽 family: 👨‍👩‍👧',
      long: 'x'.repeat(20_000),
      longUnicode: 'é'.repeat(5000),
      true: true,
      false: false,
      zero: 0,
      negZero: -0,
      small: 7,
      negative: -1,
      negativeBig: -(2 ** 40) - 3,
      int31: 2 ** 31,
      uint32: 2 ** 32 - 1,
      above32: 2 ** 32,
      maxSafe: Number.MAX_SAFE_INTEGER,
      minSafe: Number.MIN_SAFE_INTEGER,
      above53: 2 ** 53 + 2,
      int64Max: 2 ** 63 - 1024,
      int64Min: -(2 ** 63),
      beyondInt64: 2 ** 63,
      huge: 1e300,
      fraction: 0.1,
      negFraction: -2.5,
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      negInf: Number.NEGATIVE_INFINITY,
      strings: ['a', '', 'ü', '🚀'],
      numbers: [1, 2.5, -3, 2 ** 60, Number.NaN],
      booleans: [true, false],
      emptyArray: [],
      withNulls: ['a', null, undefined, 'b'] as AttributeValue,
      'ключ 🔑': 'unicode key',
      '': 'empty key is refused by the SDK',
    };
    span.setAttributes(values);
    span.end();
    assertSameAsUpstream(collect.spans);
  });

  test('string attributes around the lengths where one length byte stops being enough', () => {
    const { tracerProvider, collect } = provider(resource);
    const span = tracerProvider.getTracer('lengths').startSpan('lengths');
    for (let total = 110; total <= 135; total++) {
      span.setAttribute(`k${total}`.padEnd(10, '-'), 'v'.repeat(total - 10));
      span.setAttribute(`u${total}`.padEnd(10, '-'), `${'v'.repeat(total - 11)}é`);
    }
    span.setAttribute('k'.repeat(130), 'v');
    span.end();
    assertSameAsUpstream(collect.spans);
  });

  test('AnyValue types only hand-made spans carry: kvlists, bytes, mixed arrays, null, nesting', () => {
    const { tracerProvider, collect } = provider(resource);
    tracerProvider.getTracer('anyvalue').startSpan('anyvalue').end();
    const [span] = collect.spans;
    assert.ok(span);
    const inherited = Object.create({ fromPrototype: 'skipped' });
    inherited.own = 'kept';
    const attributes = {
      bytes: new Uint8Array([0, 1, 2, 255]),
      emptyBytes: new Uint8Array(0),
      buffer: Buffer.from('buffer bytes'),
      mixed: ['a', 1, 2.5, true, null, undefined, new Uint8Array([9]), ['nested', [1]], { k: 'v' }],
      kvlist: { a: 1, b: 'two', c: [true], d: { deep: { deeper: -1 } }, e: null },
      emptyKvlist: {},
      inherited,
      nullValue: null,
      undefinedValue: undefined,
      bigint: 10n,
      fn: () => 1,
      symbol: Symbol('s'),
      int16: new Int16Array([1, -1]),
      date: new Date(0),
    };
    const events = [{ name: 'e', time: [1, 2], attributes, droppedAttributesCount: 3 }];
    assertSameAsUpstream([withFields(span, { attributes, events })]);
  });

  test('parents, kinds, status, events, links, trace state, flags', () => {
    const { tracerProvider, collect } = provider(resource);
    const tracer = tracerProvider.getTracer('shapes', '2.0.0', {
      schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
    });
    const traceState = new TraceState('vendor=value,other=x-y');
    const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER }, remoteParent(traceState));
    const local = trace.setSpan(ROOT_CONTEXT, parent);
    const links: Link[] = [
      { context: { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true, traceState } },
      { context: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0 }, attributes: { n: 1, s: 'é' } },
      { context: { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 3, isRemote: false } },
    ];
    for (const kind of [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
      const span = tracer.startSpan(`kind ${kind}`, { kind, links, startTime: [1_700_000_000, 123_456_789] }, local);
      span.addEvent('no attributes', [1_700_000_000, 999_999_999]);
      span.addEvent('attributes', { 'exception.type': 'Error', count: 3, ok: false });
      span.setStatus(kind % 2 ? { code: SpanStatusCode.ERROR, message: 'went wrong ✗' } : { code: SpanStatusCode.OK });
      span.end([1_700_000_001, 5]);
    }
    tracer.startSpan('no parent').end();
    tracer.startSpan('unsampled flags', {}, trace.setSpanContext(ROOT_CONTEXT, { ...parent.spanContext() })).end();
    parent.setStatus({ code: SpanStatusCode.ERROR });
    parent.end();
    assertSameAsUpstream(collect.spans);
  });

  test('span limits: dropped attributes, events, links, truncated values', () => {
    const { tracerProvider, collect } = provider(resource, {
      attributeCountLimit: 2,
      attributeValueLengthLimit: 3,
      eventCountLimit: 1,
      linkCountLimit: 1,
      attributePerEventCountLimit: 1,
      attributePerLinkCountLimit: 1,
    });
    const link = (n: number): Link => ({
      context: { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 },
      attributes: { a: n, b: n, c: n },
    });
    const span = tracerProvider.getTracer('limits').startSpan('limits', { links: [link(1), link(2), link(3)] });
    span.setAttributes({ one: 'abcdef', two: ['abcdef', 'xy'], three: 3, four: 4 });
    span.addEvent('first', { a: 1, b: 2, c: 3 });
    span.addEvent('second');
    span.addEvent('third');
    span.end();
    const [ended] = collect.spans;
    assert.ok(ended && ended.droppedAttributesCount > 0 && ended.droppedEventsCount > 0 && ended.droppedLinksCount > 0);
    assertSameAsUpstream(collect.spans);
  });

  test('several resources and scopes, interleaved, grouped in first-seen order; schema URLs, scope attributes', () => {
    const first = provider(
      resourceFromAttributes({ 'service.name': 'host' }, { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' }),
    );
    const second = provider(resourceFromAttributes({ 'service.name': 'plugin', 'k8s.pod.uid': 'ü' }));
    const third = provider(resourceFromAttributes({}));
    const scopeWithAttributes = {
      name: 'scoped',
      version: '0.1.0',
      schemaUrl: 'https://example.com/schema',
      attributes: { 'scope.attr': 'v', n: 2 },
      droppedAttributesCount: 4,
    };
    const spans: ReadableSpan[] = [];
    for (let i = 0; i < 30; i++) {
      const { tracerProvider, collect } = [first, second, third][i % 3] ?? first;
      const tracer = tracerProvider.getTracer(`scope-${i % 4}`, i % 2 ? '1.2.3' : undefined, {
        ...(i % 5 === 0 ? { schemaUrl: 'https://opentelemetry.io/schemas/1.21.0' } : {}),
      });
      tracer.startSpan(`span ${i}`, { attributes: { i } }).end();
      const span = collect.spans.at(-1);
      assert.ok(span);
      spans.push(i % 7 === 0 ? withFields(span, { instrumentationScope: scopeWithAttributes }) : span);
    }
    assertSameAsUpstream(spans);
    // Again, with resource and scope bytes from the cache.
    assertSameAsUpstream(spans);
    assertSameAsUpstream(spans.reverse());
  });

  test('a resource whose attributes change (async attributes settling) is encoded afresh', async () => {
    let settle: (value: string) => void = () => {};
    const pending = new Promise<string>((resolve) => {
      settle = resolve;
    });
    const resource = resourceFromAttributes({ 'service.name': 'late', 'host.id': pending });
    const { tracerProvider, collect } = provider(resource);
    tracerProvider.getTracer('t').startSpan('s').end();
    assertSameAsUpstream(collect.spans);
    settle('host-7');
    await resource.waitForAsyncAttributes?.();
    assertSameAsUpstream(collect.spans);
  });

  test('large batches and spans: buffers grow, lengths take several bytes', () => {
    const { tracerProvider, collect } = provider(resource);
    const tracer = tracerProvider.getTracer('big');
    for (let i = 0; i < 5000; i++) {
      tracer.startSpan(`span ${i}`, { attributes: { i, 'rpc.method': 'Get', text: 'y'.repeat(i % 300) } }).end();
    }
    const huge = tracer.startSpan('huge');
    huge.setAttribute('blob', 'z'.repeat(3_000_000));
    huge.setAttribute('unicode blob', '✓'.repeat(600_000));
    huge.end();
    assertSameAsUpstream(collect.spans);
    // The scratch buffer, let go after the huge batch, still serves small ones.
    assertSameAsUpstream(collect.spans.slice(0, 3));
  });

  test('our bytes decode with the official proto definitions, values intact', () => {
    const { tracerProvider, collect } = provider(resource);
    const tracer = tracerProvider.getTracer('decode', '9.9.9');
    const span = tracer.startSpan('Get', { kind: SpanKind.SERVER }, remoteParent(new TraceState('a=b')));
    span.setAttributes({ big: 2 ** 53 + 2, neg: -5, d: 0.5, s: 'ü🚀', arr: [1, 2] });
    span.addEvent('event', { e: true });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    span.end();
    const ours = assertSameAsUpstream(collect.spans);
    const raw = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(ours), { longs: String });
    assert.equal(typeof raw, 'object');
    const { spans } = referenceDecode('traces', 'protobuf', ours);
    assert.equal(spans.length, 1);
    const [decoded] = spans;
    assert.ok(decoded);
    const context = span.spanContext();
    assert.equal(decoded.traceId, TRACE_ID);
    assert.equal(decoded.spanId, context.spanId);
    assert.equal(decoded.parentSpanId, SPAN_ID);
    assert.equal(decoded.name, 'Get');
    assert.equal(decoded.kind, 2);
    assert.equal(decoded.traceState, 'a=b');
    assert.equal(decoded.flags, 0x301);
    assert.deepEqual(decoded.status, { code: 2, message: 'boom' });
    assert.equal(decoded.scope.name, 'decode');
    assert.equal(decoded.resource['service.name'], 'kv');
    assert.deepEqual(decoded.attributes.arr, [1, 2]);
    assert.equal(decoded.attributes.s, 'ü🚀');
    assert.equal(String(decoded.attributes.big), String(2n ** 53n + 2n));
  });
});

// ---------------------------------------------------------------------------------------------
// Arbitrary batches

const anyString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  // Lone surrogates included: both must make them U+FFFD.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.string({ unit: 'binary', minLength: 60, maxLength: 300 }),
);
const anyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(Number),
  fc.constantFrom(-0, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, -(2 ** 63), Number.NaN, Number.POSITIVE_INFINITY),
);
const primitive = fc.oneof(anyString, anyNumber, fc.boolean());
// What setAttribute takes: primitives and arrays of one primitive type, with holes.
const attributeValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  primitive,
  fc.array(fc.option(anyString, { nil: undefined }), { maxLength: 5 }),
  fc.array(fc.option(anyNumber, { nil: null }), { maxLength: 5 }) as fc.Arbitrary<AttributeValue>,
  fc.array(fc.boolean(), { maxLength: 5 }),
);
const attributes = fc.dictionary(anyString, attributeValue, { maxKeys: 6 }) as fc.Arbitrary<Attributes>;
// Any value at all, for hand-made spans (kvlists, bytes, mixed arrays).
const { anyValue } = fc.letrec<{ anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitive,
    fc.constantFrom(null, undefined),
    fc.uint8Array({ maxLength: 10 }),
    fc.array(tie('anyValue'), { maxLength: 4 }),
    fc.dictionary(anyString, tie('anyValue'), { maxKeys: 4 }),
  ),
}));
const hrTime = fc.tuple(fc.integer({ min: 0, max: 2 ** 34 }), fc.integer({ min: 0, max: 999_999_999 }));
const hexId = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const traceStateString = fc.constantFrom(undefined, '', 'a=b', 'vendor=opaque-value,x=y');
const spanContext: fc.Arbitrary<SpanContext> = fc.record({
  traceId: hexId(16),
  spanId: hexId(8),
  traceFlags: fc.integer({ min: 0, max: 255 }),
  isRemote: fc.option(fc.boolean(), { nil: undefined }),
  traceState: traceStateString.map((s) => (s === undefined ? undefined : new TraceState(s))),
});

const spanShape = fc.record({
  provider: fc.nat(2),
  scope: fc.nat(3),
  name: anyString,
  kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER),
  parent: fc.oneof(fc.constant('none' as const), fc.constant('local' as const), spanContext),
  attributes,
  events: fc.array(
    fc.record({ name: anyString, attributes: fc.option(attributes, { nil: undefined }), time: hrTime }),
    { maxLength: 3 },
  ),
  links: fc.array(fc.record({ context: spanContext, attributes: fc.option(attributes, { nil: undefined }) }), {
    maxLength: 3,
  }),
  status: fc.oneof(
    fc.constant(undefined),
    fc.record({ code: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR) }),
    fc.record({ code: fc.constant(SpanStatusCode.ERROR), message: anyString }),
  ),
  startTime: hrTime,
  duration: fc.integer({ min: 0, max: 10 ** 12 }),
  // Replaced by any AnyValue record on the ended span, as only a hand-made span could have.
  anyAttributes: fc.option(fc.dictionary(anyString, anyValue, { maxKeys: 4 }), { nil: undefined, freq: 4 }),
  scopeAttributes: fc.option(fc.dictionary(anyString, anyValue, { maxKeys: 3 }), { nil: undefined, freq: 4 }),
});

const RESOURCES = [
  resourceFromAttributes({ 'service.name': 'host', 'process.pid': 1 }),
  resourceFromAttributes({ 'service.name': 'plugin', big: 2 ** 40 }, { schemaUrl: 'https://example.com/r' }),
  resourceFromAttributes({}),
];
const LIMITS: Limits[] = [{}, { attributeCountLimit: 3, attributeValueLengthLimit: 5, eventCountLimit: 2 }, {}];

describe('ProtobufSpanEncoder: arbitrary batches, same bytes as ProtobufTraceSerializer', () => {
  test(`${RUNS} batches of SDK spans`, () => {
    fc.assert(
      fc.property(fc.array(spanShape, { maxLength: 12 }), (shapes) => {
        const providers = RESOURCES.map((resource, i) => provider(resource, LIMITS[i]));
        const spans: ReadableSpan[] = [];
        for (const shape of shapes) {
          const { tracerProvider, collect } =
            providers[shape.provider] ?? (providers[0] as ReturnType<typeof provider>);
          const tracer = tracerProvider.getTracer(
            `scope-${shape.scope}`,
            shape.scope % 2 ? `1.${shape.scope}` : undefined,
            shape.scope === 3 ? { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' } : {},
          );
          let parentContext = ROOT_CONTEXT;
          if (shape.parent === 'local') parentContext = trace.setSpan(ROOT_CONTEXT, tracer.startSpan('local parent'));
          else if (shape.parent !== 'none') parentContext = trace.setSpanContext(ROOT_CONTEXT, shape.parent);
          const span = tracer.startSpan(
            shape.name,
            { kind: shape.kind, attributes: shape.attributes, links: shape.links, startTime: shape.startTime },
            parentContext,
          );
          for (const event of shape.events) span.addEvent(event.name, event.attributes, event.time);
          if (shape.status) span.setStatus(shape.status);
          span.end([shape.startTime[0] + Math.floor(shape.duration / 1e9), shape.startTime[1]]);
          let ended = collect.spans.at(-1);
          assert.ok(ended);
          if (shape.anyAttributes) ended = withFields(ended, { attributes: shape.anyAttributes });
          if (shape.scopeAttributes) {
            ended = withFields(ended, {
              instrumentationScope: { ...ended.instrumentationScope, attributes: shape.scopeAttributes },
            });
          }
          spans.push(ended);
        }
        assertSameAsUpstream(spans);
      }),
      { numRuns: RUNS },
    );
  });
});
