/**
 * The viewer's OTLP decoder (src/viewer/otlp-*.ts, no protobufjs at run time) against the official
 * definitions: every body is decoded by both, ours and test/support/otlp-reference.ts (protobufjs
 * static code generated from opentelemetry-proto), and the results must be equal value for value.
 * Bodies come from the real SDK through otlp-transformer's serializers (protobuf and JSON), from
 * the agent's own span encoder, and from hand-made requests for what the SDK never sends
 * (summaries, kvlists, bytes, names for enums). Malformed bodies must be refused with
 * MalformedRequest, never another exception.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { context as apiContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, type ReadableSpan, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { ProtobufSpanEncoder } from '../src/agent/exporters/otlp-span-encoder.ts';
import { decodeExportRequest } from '../src/viewer/otlp-decode.ts';
import { type Encoding, MalformedRequest, type Signal } from '../src/viewer/otlp-types.ts';
import { ExportMetricsServiceRequest, ExportTraceServiceRequest, referenceDecode } from './support/otlp-reference.ts';

function assertSameAsReference(signal: Signal, encoding: Encoding, body: Uint8Array): void {
  const ours = decodeExportRequest(signal, encoding, body);
  const reference = referenceDecode(signal, encoding, body);
  assert.deepStrictEqual(ours, reference);
}

const resource = resourceFromAttributes({
  'service.name': 'kv-plugin',
  'process.pid': 4242,
  'host.arch': 'amd64',
  'rpcplugin.flags': [true, false],
});

class Collect implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** A client span, its server child with an event, an error span with a link, made by the real SDK. */
function sdkSpans(): ReadableSpan[] {
  const collect = new Collect();
  const provider = new TracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors: [collect] });
  const tracer = provider.getTracer('rpcplugin-telemetry', '0.1.0');
  tracer.startActiveSpan('plugin.KV/Get', { kind: SpanKind.CLIENT }, (client) => {
    client.setAttributes({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0, 'rpc.latency': 1.5, big: 2 ** 40 });
    tracer.startActiveSpan('plugin.KV/Get', { kind: SpanKind.SERVER }, (server) => {
      server.addEvent('message', { 'message.type': 'RECEIVED', 'message.id': 1 });
      server.end();
    });
    const failed = tracer.startSpan('plugin.KV/Put', {
      kind: SpanKind.CLIENT,
      links: [{ context: client.spanContext(), attributes: { reason: 'retry' } }],
    });
    failed.setStatus({ code: SpanStatusCode.ERROR, message: 'UNAVAILABLE: no connection' });
    failed.recordException(new Error('no connection'));
    failed.end();
    client.end();
  });
  return collect.spans;
}

class ManualReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function sdkMetrics() {
  const reader = new ManualReader();
  const provider = new MeterProvider({
    resource,
    readers: [reader],
    views: [{ instrumentName: 'exponential.*', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('rpcplugin-telemetry', '0.1.0');
  const histogram = meter.createHistogram('rpc.server.duration', { unit: 'ms' });
  for (const value of [0.4, 1.2, 3, 8, 250])
    histogram.record(value, { 'rpc.method': 'Get', 'rpc.service': 'plugin.KV' });
  const exponential = meter.createHistogram('exponential.latency', { unit: 's' });
  for (const value of [0.001, 0.02, 0.5, -0, 3]) exponential.record(value);
  meter.createCounter('requests').add(7, { route: '/a' });
  meter.createUpDownCounter('active').add(-3);
  meter.createObservableGauge('process.memory.usage', { unit: 'By' }).addCallback((result) => result.observe(52e6));
  const gauge = meter.createGauge('nodejs.eventloop.delay.p99', { unit: 's' });
  gauge.record(0.0123);
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  return resourceMetrics;
}

function sdkLogs() {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger('pino', '10.0.0');
  const spans = sdkSpans();
  const context = spans[0]?.spanContext();
  logger.emit({
    severityNumber: SeverityNumber.INFO,
    severityText: 'info',
    body: 'stored key',
    attributes: { key: 'a' },
  });
  logger.emit({
    severityNumber: SeverityNumber.ERROR,
    body: { msg: 'failed', code: 14, nested: { list: [1, 'two', null] } },
    attributes: { 'trace.sampled': true },
    ...(context === undefined ? {} : { context: { ...contextWithSpan(context) } }),
  });
  return exporter.getFinishedLogRecords();
}

function contextWithSpan(spanContext: ReturnType<ReadableSpan['spanContext']>) {
  return { context: trace.setSpanContext(apiContext.active(), spanContext) }.context;
}

function bytes(value: Uint8Array | undefined): Uint8Array {
  assert.ok(value, 'the serializer made no body');
  return value;
}

describe('the viewer decodes what the official definitions decode', () => {
  test('spans from the real SDK, in protobuf (upstream serializer and the agent encoder) and JSON', () => {
    const spans = sdkSpans();
    assert.equal(spans.length, 3);
    assertSameAsReference('traces', 'protobuf', bytes(ProtobufTraceSerializer.serializeRequest(spans)));
    assertSameAsReference('traces', 'protobuf', ProtobufSpanEncoder.serializeRequest(spans));
    assertSameAsReference('traces', 'json', bytes(JsonTraceSerializer.serializeRequest(spans)));
    const decoded = decodeExportRequest('traces', 'protobuf', ProtobufSpanEncoder.serializeRequest(spans));
    assert.deepEqual(
      decoded.spans.map((span) => [span.name, span.kind, span.status.code]),
      [
        ['plugin.KV/Get', 2, 0],
        ['plugin.KV/Put', 3, 2],
        ['plugin.KV/Get', 3, 0],
      ],
    );
    assert.match(decoded.spans[0]?.traceId ?? '', /^[0-9a-f]{32}$/);
  });

  test('metrics of every kind the SDK makes, in protobuf and JSON', async () => {
    const metrics = await sdkMetrics();
    assertSameAsReference('metrics', 'protobuf', bytes(ProtobufMetricsSerializer.serializeRequest(metrics)));
    assertSameAsReference('metrics', 'json', bytes(JsonMetricsSerializer.serializeRequest(metrics)));
    const decoded = decodeExportRequest(
      'metrics',
      'protobuf',
      bytes(ProtobufMetricsSerializer.serializeRequest(metrics)),
    );
    assert.deepEqual(decoded.metrics.map((metric) => metric.type).sort(), [
      'exponentialHistogram',
      'gauge',
      'gauge',
      'histogram',
      'sum',
      'sum',
    ]);
  });

  test('log records with and without a span, in protobuf and JSON', () => {
    const records = sdkLogs();
    assertSameAsReference('logs', 'protobuf', bytes(ProtobufLogsSerializer.serializeRequest(records)));
    assertSameAsReference('logs', 'json', bytes(JsonLogsSerializer.serializeRequest(records)));
    const decoded = decodeExportRequest('logs', 'protobuf', bytes(ProtobufLogsSerializer.serializeRequest(records)));
    assert.equal(decoded.logs[0]?.traceId, '');
    assert.match(decoded.logs[1]?.traceId ?? '', /^[0-9a-f]{32}$/);
  });

  test('hand-made requests: summaries, kvlists, bytes, large integers, enum names in JSON', () => {
    const metricsJson = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'host' } }] },
          scopeMetrics: [
            {
              scope: { name: 'legacy' },
              metrics: [
                {
                  name: 'rpc.latency.summary',
                  unit: 'ms',
                  summary: {
                    dataPoints: [
                      {
                        timeUnixNano: '1700000000000000000',
                        count: '12',
                        sum: 40.5,
                        quantileValues: [
                          { quantile: 0.5, value: 2 },
                          { quantile: 0.99, value: 9.5 },
                        ],
                        attributes: [{ key: 'blob', value: { bytesValue: 'AAEC/w==' } }],
                      },
                    ],
                  },
                },
                {
                  name: 'calls',
                  sum: {
                    aggregationTemporality: 'AGGREGATION_TEMPORALITY_DELTA',
                    isMonotonic: true,
                    dataPoints: [{ asInt: '9007199254740993', flags: 1 }],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const json = new TextEncoder().encode(JSON.stringify(metricsJson));
    assertSameAsReference('metrics', 'json', json);
    const wire = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(metricsJson)).finish();
    assertSameAsReference('metrics', 'protobuf', wire);
    const decoded = decodeExportRequest('metrics', 'protobuf', wire);
    assert.equal(decoded.metrics[1]?.dataPoints[0]?.value, 9007199254740993n);

    const tracesJson = {
      resourceSpans: [
        {
          resource: {},
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
                  spanId: '00f067aa0ba902b7',
                  name: 'rpcplugin.plugin.launch',
                  kind: 'SPAN_KIND_INTERNAL',
                  startTimeUnixNano: 1,
                  endTimeUnixNano: '2',
                  status: { code: 'STATUS_CODE_OK' },
                  attributes: [
                    {
                      key: 'kv',
                      value: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{}] } } }] } },
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    assertSameAsReference('traces', 'json', new TextEncoder().encode(JSON.stringify(tracesJson)));
  });
});

describe('malformed bodies are refused with MalformedRequest', () => {
  const signals: Signal[] = ['traces', 'metrics', 'logs'];

  test('truncated protobuf, a wrong wire type, invalid JSON, a non-hex id', () => {
    const spans = ProtobufSpanEncoder.serializeRequest(sdkSpans());
    const cases: [Signal, Encoding, Uint8Array, RegExp][] = [
      ['traces', 'protobuf', spans.subarray(0, spans.length - 3), /invalid protobuf.*truncated/],
      ['traces', 'protobuf', Uint8Array.of(0x08, 0x01), /wire type 0/],
      ['logs', 'json', new TextEncoder().encode('{"resourceLogs": ['), /invalid JSON/],
      ['traces', 'json', new TextEncoder().encode('[]'), /not an object/],
      [
        'traces',
        'json',
        new TextEncoder().encode('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}'),
        /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: "xyz" is not hex/,
      ],
      ['metrics', 'json', new TextEncoder().encode('{"resourceMetrics":{}}'), /an array is expected/],
    ];
    for (const [signal, encoding, body, message] of cases) {
      assert.throws(
        () => decodeExportRequest(signal, encoding, body),
        (error: unknown) => {
          assert.ok(error instanceof MalformedRequest, `${signal}/${encoding}: ${error}`);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  test('any bytes either decode or throw MalformedRequest', () => {
    const valid = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x' }] }] }] }),
    ).finish();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 8 }).map((tail) => Uint8Array.of(...valid, ...tail)),
        ),
        fc.constantFrom(...signals),
        fc.constantFrom<Encoding>('protobuf', 'json'),
        (body, signal, encoding) => {
          try {
            decodeExportRequest(signal, encoding, body);
          } catch (error) {
            if (!(error instanceof MalformedRequest)) throw error;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
