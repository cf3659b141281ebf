/**
 * The test receiver against the official OpenTelemetry JS exporters: if it decodes exactly what
 * they send, over OTLP/protobuf and OTLP/JSON, then what it reports about the agent can be trusted.
 * Spans, metrics and logs are made in-process by the real SDKs and exported directly, so every
 * expected value comes from the SDK's own objects.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  SpanKind as ApiSpanKind,
  context,
  type HrTime,
  type Link,
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  trace,
  ValueType,
} from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { TraceState } from '@opentelemetry/core';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
// The exporters' own base package (installed with them), for its compression enum.
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationType,
  type DataPoint,
  type ExponentialHistogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
  AggregationTemporality as SdkTemporality,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality,
  closedPort,
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedSpan,
  SpanFlags,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { ExportMetricsServiceRequest } from './support/otlp-reference.ts';

// The exporters and the SDK read OTEL_* variables when they are constructed (headers, timeout,
// compression, temporality, sampler, limits): the developer's own settings must not change what
// these tests send.
for (const name of Object.keys(process.env)) {
  if (name.startsWith('OTEL_')) delete process.env[name];
}

const RESOURCE_ATTRIBUTES = {
  'service.name': 'kv-plugin',
  'service.version': '1.2.3',
  'process.pid': 4242,
  'test.flag': true,
};
const RESOURCE = resourceFromAttributes(RESOURCE_ATTRIBUTES);

interface ExportResult {
  code: number;
  error?: Error;
}
const SUCCESS = 0;
const FAILED = 1;

/** Any of the OTLP exporters: export takes a batch and calls back once with the outcome. */
interface Exporter<Batch> {
  export(batch: Batch, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** Exports one batch and shuts the exporter down (closing its keep-alive connections). */
async function exportOnce<Batch>(exporter: Exporter<Batch>, batch: Batch): Promise<ExportResult> {
  const result = await new Promise<ExportResult>((resolve) => exporter.export(batch, resolve));
  await exporter.shutdown();
  return result;
}

const nanos = ([seconds, nanoseconds]: HrTime): bigint => BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const ENCODING = { 'http/protobuf': 'protobuf', 'http/json': 'json' } as const;
const CONTENT_TYPE = { 'http/protobuf': 'application/x-protobuf', 'http/json': 'application/json' } as const;

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

// ---------------------------------------------------------------------------------------------
// Traces
// ---------------------------------------------------------------------------------------------

const REMOTE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN_ID = 'b7ad6b7169203331';
const LINKED_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const LINKED_SPAN_ID = '00f067aa0ba902b7';

interface MadeSpans {
  server: ReadableSpan;
  client: ReadableSpan;
  root: ReadableSpan;
}

/** A server span under a remote parent (as from TRACEPARENT), a failing client child with an event and a link, and a local root. */
function makeSpans(): MadeSpans {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: RESOURCE, spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('receiver-test', '0.1.0');
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: REMOTE_TRACE_ID,
    spanId: REMOTE_SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    traceState: new TraceState('vendor=value'),
    isRemote: true,
  });
  const server = tracer.startSpan(
    'plugin.KV/Get',
    {
      kind: ApiSpanKind.SERVER,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.grpc.status_code': 0,
        'server.port': 50051,
        ratio: 0.25,
        'cache.hit': false,
        tags: ['a', 'b'],
        sizes: [1, 2, 3],
      },
    },
    remote,
  );
  const link: Link = {
    context: { traceId: LINKED_TRACE_ID, spanId: LINKED_SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true },
    attributes: { 'link.reason': 'batch' },
  };
  const client = tracer.startSpan(
    'plugin.KV/Put',
    { kind: ApiSpanKind.CLIENT, links: [link] },
    trace.setSpan(ROOT_CONTEXT, server),
  );
  client.addEvent('retry', { attempt: 2 });
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  client.end();
  server.end();
  tracer.startSpan('local-root').end();

  const [put, get, root] = memory.getFinishedSpans();
  assert.ok(put && get && root, 'the SDK finished three spans');
  return { server: get, client: put, root };
}

const SCOPE = { name: 'receiver-test', version: '0.1.0', attributes: {} };

function expectedSpans({ server, client, root }: MadeSpans): ReceivedSpan[] {
  const common = (span: ReadableSpan) => ({
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    resource: RESOURCE_ATTRIBUTES,
    scope: SCOPE,
  });
  return [
    {
      ...common(client),
      parentSpanId: server.spanContext().spanId,
      traceState: 'vendor=value',
      name: 'plugin.KV/Put',
      kind: SpanKind.CLIENT,
      flags: SpanFlags.SAMPLED | SpanFlags.CONTEXT_HAS_IS_REMOTE,
      attributes: {},
      events: [
        {
          name: 'retry',
          timeUnixNano: nanos(client.events[0]?.time ?? [0, 0]),
          attributes: { attempt: 2 },
          droppedAttributesCount: 0,
        },
      ],
      links: [
        {
          traceId: LINKED_TRACE_ID,
          spanId: LINKED_SPAN_ID,
          traceState: '',
          attributes: { 'link.reason': 'batch' },
          droppedAttributesCount: 0,
          flags: SpanFlags.SAMPLED | SpanFlags.CONTEXT_HAS_IS_REMOTE | SpanFlags.CONTEXT_IS_REMOTE,
        },
      ],
      status: { code: StatusCode.ERROR, message: 'boom' },
    },
    {
      ...common(server),
      parentSpanId: REMOTE_SPAN_ID,
      traceState: 'vendor=value',
      name: 'plugin.KV/Get',
      kind: SpanKind.SERVER,
      flags: SpanFlags.SAMPLED | SpanFlags.CONTEXT_HAS_IS_REMOTE | SpanFlags.CONTEXT_IS_REMOTE,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.grpc.status_code': 0,
        'server.port': 50051,
        ratio: 0.25,
        'cache.hit': false,
        tags: ['a', 'b'],
        sizes: [1, 2, 3],
      },
      events: [],
      links: [],
      status: { code: StatusCode.UNSET, message: '' },
    },
    {
      ...common(root),
      parentSpanId: '',
      traceState: '',
      name: 'local-root',
      kind: SpanKind.INTERNAL,
      flags: SpanFlags.SAMPLED | SpanFlags.CONTEXT_HAS_IS_REMOTE,
      attributes: {},
      events: [],
      links: [],
      status: { code: StatusCode.UNSET, message: '' },
    },
  ];
}

function traceExporter(protocol: Protocol, options: ConstructorParameters<typeof ProtoTraceExporter>[0] = {}) {
  return protocol === 'http/protobuf' ? new ProtoTraceExporter(options) : new JsonTraceExporter(options);
}

describe('traces', () => {
  for (const protocol of PROTOCOLS) {
    test(`${protocol}: every span field decodes to what the SDK made`, async () => {
      receiver.clear();
      const made = makeSpans();
      const exporter = traceExporter(protocol, { url: receiver.endpoint('traces') });
      const result = await exportOnce(exporter, [made.client, made.server, made.root]);

      assert.equal(result.code, SUCCESS, `export failed: ${result.error}\n${receiver.describe()}`);
      assert.equal(receiver.requests.length, 1, receiver.describe());
      const [received] = receiver.requests;
      assert.equal(received?.method, 'POST');
      assert.equal(received?.path, '/v1/traces');
      assert.equal(received?.signal, 'traces');
      assert.equal(received?.contentType, CONTENT_TYPE[protocol]);
      assert.equal(received?.encoding, ENCODING[protocol]);
      assert.equal(received?.status, 200);
      assert.equal(received?.error, undefined);
      assert.deepEqual(receiver.spans(), expectedSpans(made));
      assert.equal(made.server.spanContext().traceId, REMOTE_TRACE_ID, 'the server span continues the remote trace');
    });
  }

  test('gzip, custom headers and a custom path are received and recorded', async () => {
    const custom = await startOtlpReceiver({ paths: { traces: '/collector/otlp/spans' } });
    try {
      const made = makeSpans();
      const exporter = new ProtoTraceExporter({
        url: `${custom.url}/collector/otlp/spans`,
        compression: CompressionAlgorithm.GZIP,
        headers: { 'X-Api-Key': 'k-123', Authorization: 'Bearer t0ken' },
      });
      const result = await exportOnce(exporter, [made.root]);

      assert.equal(result.code, SUCCESS, `export failed: ${result.error}\n${custom.describe()}`);
      const [received] = custom.requests;
      assert.equal(received?.path, '/collector/otlp/spans');
      assert.equal(received?.contentEncoding, 'gzip');
      assert.equal(received?.headers['x-api-key'], 'k-123');
      assert.equal(received?.headers.authorization, 'Bearer t0ken');
      assert.match(received?.headers['user-agent'] ?? '', /^OTel-OTLP-Exporter-JavaScript\//);
      assert.deepEqual(
        custom.spans().map((span) => [span.name, span.spanId]),
        [['local-root', made.root.spanContext().spanId]],
      );
    } finally {
      await custom.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/** A reader that only collects when asked, so the test decides what is exported and when. */
class OnDemandReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

async function makeMetrics(temporality: SdkTemporality): Promise<ResourceMetrics> {
  const reader = new OnDemandReader({ aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: RESOURCE,
    readers: [reader],
    views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('receiver-test-meter', '0.2.0');
  const calls = meter.createCounter('rpc.calls', {
    description: 'calls made',
    unit: '{call}',
    valueType: ValueType.INT,
  });
  calls.add(2, { 'rpc.method': 'Get' });
  calls.add(3, { 'rpc.method': 'Get' });
  calls.add(1, { 'rpc.method': 'Put' });
  const active = meter.createUpDownCounter('rpc.active', { valueType: ValueType.INT });
  active.add(3);
  active.add(-1);
  const duration = meter.createHistogram('rpc.server.duration', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [10, 100] },
  });
  for (const value of [5, 50, 500, 7]) duration.record(value, { 'rpc.grpc.status_code': 0 });
  const sizes = meter.createHistogram('payload.size', { unit: 'By' });
  for (const value of [1, 2, 4, 1024]) sizes.record(value);
  meter.createObservableGauge('process.memory.usage', { unit: 'By' }).addCallback((result) => result.observe(12.5));

  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  await provider.shutdown();
  return resourceMetrics;
}

function metricNamed(metrics: readonly ReceivedMetric[], name: string): ReceivedMetric {
  const found = metrics.find((metric) => metric.name === name);
  assert.ok(found, `no metric ${name} among ${metrics.map((metric) => metric.name).join(', ')}`);
  return found;
}

function sdkPoint(collected: ResourceMetrics, name: string, index = 0): DataPoint<unknown> {
  const metric = collected.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  const point = metric?.dataPoints[index];
  assert.ok(point, `the SDK collected no point ${index} of ${name}`);
  return point as DataPoint<unknown>;
}

const times = (point: DataPoint<unknown>) => ({
  startTimeUnixNano: nanos(point.startTime),
  timeUnixNano: nanos(point.endTime),
});

describe('metrics', () => {
  // The protobuf run is cumulative and the JSON run delta, so temporality is seen to be decoded, not assumed.
  const runs = [
    { protocol: 'http/protobuf', sdk: SdkTemporality.CUMULATIVE, wire: AggregationTemporality.CUMULATIVE },
    { protocol: 'http/json', sdk: SdkTemporality.DELTA, wire: AggregationTemporality.DELTA },
  ] as const;
  for (const { protocol, sdk, wire } of runs) {
    test(`${protocol}: sums, gauges and both histograms decode to what the SDK collected`, async () => {
      receiver.clear();
      const collected = await makeMetrics(sdk);
      const url = receiver.endpoint('metrics');
      const exporter =
        protocol === 'http/protobuf' ? new ProtoMetricExporter({ url }) : new JsonMetricExporter({ url });
      const result = await exportOnce(exporter, collected);

      assert.equal(result.code, SUCCESS, `export failed: ${result.error}\n${receiver.describe()}`);
      const [received] = receiver.requests;
      assert.equal(received?.path, '/v1/metrics');
      assert.equal(received?.encoding, ENCODING[protocol]);
      const metrics = receiver.metrics();
      assert.deepEqual(metrics.map((metric) => metric.name).sort(), [
        'payload.size',
        'process.memory.usage',
        'rpc.active',
        'rpc.calls',
        'rpc.server.duration',
      ]);
      const scope = { name: 'receiver-test-meter', version: '0.2.0', attributes: {} };

      assert.deepEqual(metricNamed(metrics, 'rpc.calls'), {
        name: 'rpc.calls',
        description: 'calls made',
        unit: '{call}',
        type: 'sum',
        temporality: wire,
        isMonotonic: true,
        dataPoints: [
          { attributes: { 'rpc.method': 'Get' }, ...times(sdkPoint(collected, 'rpc.calls', 0)), flags: 0, value: 5 },
          { attributes: { 'rpc.method': 'Put' }, ...times(sdkPoint(collected, 'rpc.calls', 1)), flags: 0, value: 1 },
        ],
        resource: RESOURCE_ATTRIBUTES,
        scope,
      });

      const active = metricNamed(metrics, 'rpc.active');
      assert.equal(active.type, 'sum');
      assert.equal(active.isMonotonic, false);
      assert.deepEqual(active.dataPoints, [
        { attributes: {}, ...times(sdkPoint(collected, 'rpc.active')), flags: 0, value: 2 },
      ]);

      assert.deepEqual(metricNamed(metrics, 'rpc.server.duration'), {
        name: 'rpc.server.duration',
        description: '',
        unit: 'ms',
        type: 'histogram',
        temporality: wire,
        dataPoints: [
          {
            attributes: { 'rpc.grpc.status_code': 0 },
            ...times(sdkPoint(collected, 'rpc.server.duration')),
            flags: 0,
            count: 4,
            sum: 562,
            min: 5,
            max: 500,
            bucketCounts: [2, 1, 1],
            explicitBounds: [10, 100],
          },
        ],
        resource: RESOURCE_ATTRIBUTES,
        scope,
      });

      const exponential = sdkPoint(collected, 'payload.size') as DataPoint<ExponentialHistogram>;
      const sizes = metricNamed(metrics, 'payload.size');
      assert.equal(sizes.type, 'exponentialHistogram');
      assert.equal(sizes.temporality, wire);
      assert.deepEqual(sizes.dataPoints, [
        {
          attributes: {},
          ...times(exponential),
          flags: 0,
          count: 4,
          sum: 1031,
          min: 1,
          max: 1024,
          scale: exponential.value.scale,
          zeroCount: 0,
          // Not sent by the JS exporters; the proto default.
          zeroThreshold: 0,
          positive: exponential.value.positive,
          negative: { offset: exponential.value.negative.offset, bucketCounts: [] },
        },
      ]);
      assert.equal(
        sizes.dataPoints[0]?.positive?.bucketCounts.reduce((sum, count) => sum + count, 0),
        4,
        'every value is in a positive bucket',
      );

      const gauge = metricNamed(metrics, 'process.memory.usage');
      assert.equal(gauge.type, 'gauge');
      assert.equal(gauge.temporality, undefined);
      assert.equal(gauge.isMonotonic, undefined);
      assert.deepEqual(
        gauge.dataPoints.map((point) => point.value),
        [12.5],
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

function makeLogs() {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: RESOURCE,
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
  });
  const logger = provider.getLogger('receiver-test-logger', '0.3.0');
  const spanContext = {
    traceId: REMOTE_TRACE_ID,
    spanId: REMOTE_SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
  };
  logger.emit({
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: { msg: 'handled', nested: { n: 1, list: [1, 'x', true] } },
    attributes: { 'code.lineno': 42, raw: new Uint8Array([1, 2, 255]) },
    eventName: 'rpc.handled',
    context: trace.setSpanContext(context.active(), spanContext),
  });
  logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'warn', body: 'outside any span' });
  logger.emit({ severityNumber: SeverityNumber.DEBUG, attributes: { 'no.body': true } });
  return memory.getFinishedLogRecords();
}

describe('logs', () => {
  for (const protocol of PROTOCOLS) {
    test(`${protocol}: body, severity, attributes and trace context decode exactly`, async () => {
      receiver.clear();
      const records = makeLogs();
      const url = receiver.endpoint('logs');
      const exporter = protocol === 'http/protobuf' ? new ProtoLogExporter({ url }) : new JsonLogExporter({ url });
      const result = await exportOnce(exporter, records);

      assert.equal(result.code, SUCCESS, `export failed: ${result.error}\n${receiver.describe()}`);
      const [received] = receiver.requests;
      assert.equal(received?.path, '/v1/logs');
      assert.equal(received?.encoding, ENCODING[protocol]);
      const scope = { name: 'receiver-test-logger', version: '0.3.0', attributes: {} };
      const at = (index: number) => ({
        timeUnixNano: nanos(records[index]?.hrTime ?? [0, 0]),
        observedTimeUnixNano: nanos(records[index]?.hrTimeObserved ?? [0, 0]),
      });
      assert.deepEqual(receiver.logs(), [
        {
          ...at(0),
          severityNumber: 9,
          severityText: 'INFO',
          body: { msg: 'handled', nested: { n: 1, list: [1, 'x', true] } },
          attributes: { 'code.lineno': 42, raw: new Uint8Array([1, 2, 255]) },
          droppedAttributesCount: 0,
          flags: 1,
          traceId: REMOTE_TRACE_ID,
          spanId: REMOTE_SPAN_ID,
          eventName: 'rpc.handled',
          resource: RESOURCE_ATTRIBUTES,
          scope,
        },
        {
          ...at(1),
          severityNumber: 13,
          severityText: 'warn',
          body: 'outside any span',
          attributes: {},
          droppedAttributesCount: 0,
          flags: 0,
          traceId: '',
          spanId: '',
          eventName: '',
          resource: RESOURCE_ATTRIBUTES,
          scope,
        },
        {
          ...at(2),
          severityNumber: 5,
          severityText: '',
          body: null,
          attributes: { 'no.body': true },
          droppedAttributesCount: 0,
          flags: 0,
          traceId: '',
          spanId: '',
          eventName: '',
          resource: RESOURCE_ATTRIBUTES,
          scope,
        },
      ]);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// OTLP/JSON written by hand: what other SDKs (and the spec) send that the JS exporter does not
// ---------------------------------------------------------------------------------------------

async function post(url: string, contentType: string, body: string | Uint8Array, method = 'POST') {
  const response = await fetch(url, { method, headers: { 'content-type': contentType }, body });
  return { status: response.status, text: await response.text(), contentType: response.headers.get('content-type') };
}

describe('hand-written payloads', () => {
  test('OTLP/JSON spec encodings: uppercase hex ids, int64 as strings, enum names, bytes, nested values', async () => {
    receiver.clear();
    const payload = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'by-hand' } }] },
          scopeSpans: [
            {
              scope: { name: 'hand' },
              spans: [
                {
                  traceId: REMOTE_TRACE_ID.toUpperCase(),
                  spanId: REMOTE_SPAN_ID.toUpperCase(),
                  name: 'x',
                  kind: 'SPAN_KIND_CONSUMER',
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: 1700000000000,
                  attributes: [
                    { key: 'big', value: { intValue: '9007199254740993' } },
                    { key: 'small', value: { intValue: '-7' } },
                    { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2]).toString('base64') } },
                    { key: 'empty', value: {} },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    {
                      key: 'map',
                      value: {
                        kvlistValue: {
                          values: [{ key: 'list', value: { arrayValue: { values: [{ boolValue: true }, {}] } } }],
                        },
                      },
                    },
                  ],
                  status: { code: 2, message: 'failed' },
                  flags: 0x301,
                },
              ],
            },
          ],
        },
      ],
    };
    const answer = await post(receiver.endpoint('traces'), 'application/json; charset=utf-8', JSON.stringify(payload));

    assert.deepEqual(answer, { status: 200, text: '{}', contentType: 'application/json' });
    const [span] = receiver.spans();
    assert.equal(span?.traceId, REMOTE_TRACE_ID);
    assert.equal(span?.spanId, REMOTE_SPAN_ID);
    assert.equal(span?.parentSpanId, '');
    assert.equal(span?.kind, SpanKind.CONSUMER);
    assert.equal(span?.flags, 0x301);
    assert.equal(span?.startTimeUnixNano, 1700000000000000001n);
    assert.equal(span?.endTimeUnixNano, 1700000000000n);
    assert.deepEqual(span?.status, { code: StatusCode.ERROR, message: 'failed' });
    assert.deepEqual(span?.attributes, {
      big: 9007199254740993n,
      small: -7,
      bytes: new Uint8Array([0, 1, 2]),
      empty: null,
      nan: Number.NaN,
      map: { list: [true, null] },
    });
    assert.deepEqual(span?.scope, { name: 'hand', version: '', attributes: {} });
    assert.deepEqual(span?.resource, { 'service.name': 'by-hand' });
  });

  test('a summary metric normalises the same from OTLP/JSON and from its protobuf encoding', async () => {
    receiver.clear();
    const request = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'legacy.latency',
                  unit: 's',
                  summary: {
                    dataPoints: [
                      {
                        timeUnixNano: '1700000000000000000',
                        count: '3',
                        sum: 0.75,
                        quantileValues: [
                          { quantile: 0.5, value: 0.2 },
                          { quantile: 1, value: 0.4 },
                        ],
                        attributes: [{ key: 'q', value: { doubleValue: 1.5 } }],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const protobuf = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(request)).finish();
    assert.equal((await post(receiver.endpoint('metrics'), 'application/json', JSON.stringify(request))).status, 200);
    const answer = await post(receiver.endpoint('metrics'), 'application/x-protobuf', protobuf);
    assert.deepEqual(answer, { status: 200, text: '', contentType: 'application/x-protobuf' });

    const [fromJson, fromProtobuf] = receiver.requests.map((received) => received.metrics);
    assert.deepEqual(fromJson, fromProtobuf);
    assert.deepEqual(fromJson, [
      {
        name: 'legacy.latency',
        description: '',
        unit: 's',
        type: 'summary',
        dataPoints: [
          {
            attributes: { q: 1.5 },
            startTimeUnixNano: 0n,
            timeUnixNano: 1700000000000000000n,
            flags: 0,
            count: 3,
            sum: 0.75,
            quantileValues: [
              { quantile: 0.5, value: 0.2 },
              { quantile: 1, value: 0.4 },
            ],
          },
        ],
        resource: {},
        scope: { name: '', version: '', attributes: {} },
      },
    ]);
  });

  test('bad requests get 400/404/405/415, are recorded with the reason, and the receiver keeps working', async () => {
    receiver.clear();
    const traces = receiver.endpoint('traces');
    const answers = [
      await post(traces, 'application/x-protobuf', new Uint8Array([0x0a, 0xff])),
      await post(traces, 'application/json', '{"resourceSpans": ['),
      await post(
        traces,
        'application/json',
        JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz' }] }] }] }),
      ),
      await post(traces, 'application/json', JSON.stringify({ resourceSpans: 'none' })),
      await post(traces, 'text/plain', 'hello'),
      await post(`${receiver.url}/v1/profiles`, 'application/x-protobuf', new Uint8Array()),
      await fetch(traces).then((response) => ({ status: response.status })),
    ].map((answer) => answer.status);

    assert.deepEqual(answers, [400, 400, 400, 400, 415, 404, 405]);
    const errors = receiver.requests.map((received) => received.error ?? '');
    assert.match(errors[0] ?? '', /^invalid protobuf at byte 2: truncated: 1 byte\(s\) needed, 0 left$/);
    assert.match(errors[1] ?? '', /^invalid JSON: /);
    assert.match(errors[2] ?? '', /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: "xyz" is not hex$/);
    assert.match(errors[3] ?? '', /^resourceSpans: an array is expected$/);
    assert.match(errors[4] ?? '', /^unsupported content type "text\/plain"/);
    assert.match(errors[5] ?? '', /^no OTLP signal is served on \/v1\/profiles/);
    assert.match(errors[6] ?? '', /^OTLP\/HTTP takes POST, not GET/);
    assert.deepEqual(receiver.spans(), []);

    const made = makeSpans();
    const result = await exportOnce(new ProtoTraceExporter({ url: traces }), [made.root]);
    assert.equal(result.code, SUCCESS, 'a valid export after the bad ones still succeeds');
  });
});

// ---------------------------------------------------------------------------------------------
// Fault modes, as the exporters experience them
// ---------------------------------------------------------------------------------------------

describe('faults', () => {
  test('503: the exporter reports failure (retrying when told Retry-After: 0), then recovers with the receiver', async () => {
    const failing = await startOtlpReceiver({ respond: { status: 503, headers: { 'Retry-After': '0' } } });
    try {
      const made = makeSpans();
      const url = failing.endpoint('traces');
      const failed = await exportOnce(new ProtoTraceExporter({ url, timeoutMillis: 2000 }), [made.root]);

      assert.equal(failed.code, FAILED);
      assert.ok(failing.requests.length > 1, `the exporter retried: ${failing.describe()}`);
      for (const received of failing.requests) {
        assert.equal(received.status, 503);
        assert.deepEqual(
          received.spans.map((span) => span.name),
          ['local-root'],
          'each attempt carried the span',
        );
      }

      failing.configure({ respond: 'ok' });
      failing.clear();
      const recovered = await exportOnce(new ProtoTraceExporter({ url }), [made.root]);
      assert.equal(recovered.code, SUCCESS);
      assert.deepEqual(
        failing.requests.map((received) => received.status),
        [200],
      );
    } finally {
      await failing.close();
    }
  });

  test('a non-retryable status reaches the exporter as an error with that code and body', async () => {
    const rejecting = await startOtlpReceiver({ respond: { status: 400, body: 'quota exceeded' } });
    try {
      const result = await exportOnce(new ProtoTraceExporter({ url: rejecting.endpoint('traces') }), [
        makeSpans().root,
      ]);
      assert.equal(result.code, FAILED);
      assert.deepEqual(
        { code: (result.error as { code?: number }).code, data: (result.error as { data?: string }).data },
        { code: 400, data: 'quota exceeded' },
      );
      assert.equal(rejecting.requests.length, 1);
    } finally {
      await rejecting.close();
    }
  });

  test('hang: the exporter times out per timeoutMillis, and close() still returns promptly', async () => {
    const hanging = await startOtlpReceiver({ hang: true });
    const made = makeSpans();
    const started = performance.now();
    const result = await exportOnce(new ProtoTraceExporter({ url: hanging.endpoint('traces'), timeoutMillis: 300 }), [
      made.root,
    ]);
    const elapsed = performance.now() - started;

    assert.equal(result.code, FAILED);
    assert.match(String(result.error), /timed out/i);
    assert.ok(elapsed >= 250 && elapsed < 1500, `the export gave up after ${Math.round(elapsed)} ms`);
    assert.equal(hanging.requests[0]?.status, null, 'the request was read but never answered');
    assert.deepEqual(
      hanging.spans().map((span) => span.name),
      ['local-root'],
    );

    // A client with no timeout of its own: only close() can end its request.
    const stuck = new Promise<string>((resolve) => {
      const client = request(hanging.endpoint('logs'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      client.on('response', () => resolve('answered'));
      client.on('error', (error) => resolve(error.message));
      client.end('{}');
    });
    await hanging.waitFor((r) => r.requests.some((received) => received.path === '/v1/logs'), { timeoutMs: 2000 });
    const closing = performance.now();
    await hanging.close();
    assert.ok(performance.now() - closing < 500, 'close() did not wait for the hung connection');
    assert.equal(await stuck, 'socket hang up');
  });

  test('closedPort: nothing listens there, and the exporter fails fast with ECONNREFUSED', async () => {
    const port = await closedPort();
    const started = performance.now();
    const result = await exportOnce(
      new ProtoTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, timeoutMillis: 500 }),
      [makeSpans().root],
    );
    assert.equal(result.code, FAILED);
    assert.match(String((result.error as { code?: string }).code ?? result.error), /ECONNREFUSED/);
    assert.ok(performance.now() - started < 1500);
  });
});

// ---------------------------------------------------------------------------------------------
// waitFor
// ---------------------------------------------------------------------------------------------

describe('waitFor', () => {
  test('resolves with the first truthy result, checked after each request', async () => {
    receiver.clear();
    const waiting = receiver.waitFor((r) => r.spans().find((span) => span.name === 'local-root'), { timeoutMs: 2000 });
    const made = makeSpans();
    await exportOnce(new ProtoTraceExporter({ url: receiver.endpoint('traces') }), [made.root]);
    const span = await waiting;
    assert.equal(span.spanId, made.root.spanContext().spanId);
  });

  test('times out with what was received, so a failing test explains itself', async () => {
    receiver.clear();
    await exportOnce(new ProtoTraceExporter({ url: receiver.endpoint('traces') }), [makeSpans().root]);
    await assert.rejects(
      receiver.waitFor((r) => r.metrics().length > 0, { timeoutMs: 50, description: 'any metric' }),
      (error: Error) => {
        assert.match(error.message, /^timed out after 50 ms waiting for any metric\n/);
        assert.match(
          error.message,
          /received 1 request\(s\):\n {2}POST \/v1\/traces \[protobuf\] → 200: span local-root$/,
        );
        return true;
      },
    );
  });
});
