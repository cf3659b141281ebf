/**
 * Nothing recorded is lost at exit: for each protocol (http/protobuf, http/json, grpc) and each way a
 * plugin ends (process.exit() from inside a gRPC handler, as go-plugin plugins do in Shutdown, or at
 * top level; natural exit; SIGTERM; SIGINT), on Node, Bun and Deno, a real receiver decodes every
 * span, log record and RPC duration recorded: N calls give N server spans, N log records and a
 * histogram count of exactly N, with a periodic metric export falling between the calls (no double
 * counting across it, cumulative or delta). The exit is held no longer than RPCPLUGIN_SHUTDOWN_TIMEOUT,
 * and a collector that is down costs one line that names what was lost, metrics included.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { makeTestCertificates, type TestCertificates } from './support/certificates.ts';
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import {
  AggregationTemporality,
  closedPort,
  type OtlpReceiver,
  type ReceivedLogRecord,
  type ReceivedMetric,
  type ReceivedSpan,
  SpanKind,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { type AgentRun, fixture, isNodeLine, RUNTIME_RUNS, type RunResult, runApp } from './support/runtimes.ts';

const CALLS = 10;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const ENDS = ['handler-exit', 'exit', 'natural', 'SIGTERM', 'SIGINT'] as const;
type End = (typeof ENDS)[number];

/** One Node line (the newest here, ES module with --import), Bun and Deno. */
const ROWS: readonly AgentRun[] = RUNTIME_RUNS.filter((row) => !isNodeLine(row.runtime) || row.runtime === 'node24');

let http: OtlpReceiver;
let grpc: OtlpGrpcReceiver;
let certificates: TestCertificates;
/** Over TLS, requiring a client certificate. */
let grpcMutualTls: OtlpGrpcReceiver;
before(async () => {
  certificates = makeTestCertificates();
  const tls = {
    key: certificates.read(certificates.serverKey),
    cert: certificates.read(certificates.serverCertificate),
    ca: certificates.read(certificates.caCertificate),
  };
  [http, grpc, grpcMutualTls] = await Promise.all([
    startOtlpReceiver(),
    startOtlpGrpcReceiver(),
    startOtlpGrpcReceiver({ tls }),
  ]);
});
after(async () => {
  await Promise.all([http.close(), grpc.close(), grpcMutualTls.close()]);
  rmSync(certificates.dir, { recursive: true, force: true });
});

interface Received {
  spans: ReceivedSpan[];
  metrics: ReceivedMetric[];
  logs: ReceivedLogRecord[];
}

function received(
  protocol: Protocol,
  service: string,
  receiver: OtlpReceiver | OtlpGrpcReceiver = protocol === 'grpc' ? grpc : http,
): Received {
  const ofService = <T extends { resource: Record<string, unknown> }>(items: T[]) =>
    items.filter((item) => item.resource['service.name'] === service);
  return {
    spans: ofService(receiver.spans()),
    metrics: ofService(receiver.metrics()),
    logs: ofService(receiver.logs()),
  };
}

interface Ending {
  run: RunResult;
  /** From the app's last word ("app: ending") or the signal to the process's end. */
  endingMs: number;
}

async function runPlugin(row: AgentRun, end: End, env: Record<string, string>): Promise<Ending> {
  let endingAt = Number.NaN;
  const run = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('grpc/exit-delivery-app.mjs'),
    timeoutMs: 40_000,
    env: {
      APP_END: end.startsWith('SIG') ? 'serve' : end,
      FIXTURE_CALLS: String(CALLS),
      FIXTURE_PAUSE_MS: '1300',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      RPCPLUGIN_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS),
      ...env,
    },
    onSpawn(child) {
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        if (text.includes('app: ending')) endingAt = performance.now();
        if (text.includes('app: serving') && end.startsWith('SIG')) {
          endingAt = performance.now();
          child.kill(end as NodeJS.Signals);
        }
      });
    },
  });
  return { run, endingMs: performance.now() - endingAt };
}

function assertEnded(end: End, { run, endingMs }: Ending): void {
  const context = `${run.command}\n${run.stderr}`;
  if (end === 'SIGTERM' || end === 'SIGINT') {
    assert.equal(run.signal, end, context);
  } else {
    assert.equal(run.exitCode, end === 'natural' ? 0 : 3, context);
    assert.equal(run.signal, null, context);
  }
  assert.ok(endingMs < SHUTDOWN_TIMEOUT_MS, `the end took ${Math.round(endingMs)} ms\n${context}`);
  assert.doesNotMatch(run.stderr, /rpcplugin-telemetry:/, 'no warning: nothing was lost');
}

/** The server-side duration histogram's count for Get: the last point when cumulative, the sum of the points when delta. */
function recordedGetCalls(metrics: ReceivedMetric[]): { count: number; temporalities: Set<number | undefined> } {
  const durations = metrics.filter((metric) => /^rpc\.server\.(call\.)?duration$/.test(metric.name));
  const temporalities = new Set(durations.map((metric) => metric.temporality));
  const points = durations.flatMap((metric) =>
    metric.dataPoints
      .filter((point) => point.attributes['rpc.method'] === 'Get')
      .map((point) => ({ point, delta: metric.temporality === AggregationTemporality.DELTA })),
  );
  if (points.every(({ delta }) => delta)) {
    return { count: points.reduce((total, { point }) => total + (point.count ?? 0), 0), temporalities };
  }
  const last = points.reduce<(typeof points)[number] | undefined>(
    (latest, candidate) =>
      latest === undefined || candidate.point.timeUnixNano >= latest.point.timeUnixNano ? candidate : latest,
    undefined,
  );
  return { count: last?.point.count ?? 0, temporalities };
}

function assertDelivered(
  service: string,
  protocol: Protocol,
  temporality: number,
  ending: Ending,
  receiver?: OtlpReceiver | OtlpGrpcReceiver,
): void {
  const { spans, metrics, logs } = received(protocol, service, receiver);
  const context = `from ${service}; stderr:\n${ending.run.stderr}`;
  const serverGets = spans.filter((span) => span.kind === SpanKind.SERVER && span.name.endsWith('/Get'));
  assert.equal(serverGets.length, CALLS, `server spans for Get ${context}`);
  const gets = logs.filter((record) => record.body === 'exit-delivery get');
  assert.equal(gets.length, CALLS, `log records ${context}`);
  const calls = recordedGetCalls(metrics);
  assert.deepEqual([...calls.temporalities], [temporality], `duration temporality ${context}`);
  assert.equal(calls.count, CALLS, `rpc.server duration count for Get ${context}`);
}

function endpointOf(protocol: Protocol): string {
  return protocol === 'grpc' ? grpc.url : http.url;
}

describe('every signal over every protocol arrives, whichever way the plugin ends', () => {
  for (const row of ROWS) {
    for (const protocol of PROTOCOLS) {
      for (const end of ENDS) {
        test(`${row.runtime} ${row.loader.name}, ${protocol}, ${end}: ${CALLS} spans, ${CALLS} log records, a count of ${CALLS}`, async () => {
          const service = `exit-delivery-${row.runtime}-${protocol}-${end}`;
          const ending = await runPlugin(row, end, {
            OTEL_SERVICE_NAME: service,
            OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
            OTEL_EXPORTER_OTLP_ENDPOINT: endpointOf(protocol),
          });
          assertEnded(end, ending);
          assertDelivered(service, protocol, AggregationTemporality.CUMULATIVE, ending);
        });
      }
    }
  }
});

describe('the other Node lines: process.exit() from a gRPC handler, over gRPC', () => {
  for (const row of RUNTIME_RUNS.filter((candidate) => isNodeLine(candidate.runtime) && !ROWS.includes(candidate))) {
    test(`${row.runtime} ${row.loader.name}: ${CALLS} spans, ${CALLS} log records, a count of ${CALLS}`, async () => {
      const service = `exit-delivery-${row.runtime}-${row.loader.name}`;
      const ending = await runPlugin(row, 'handler-exit', {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url,
      });
      assertEnded('handler-exit', ending);
      assertDelivered(service, 'grpc', AggregationTemporality.CUMULATIVE, ending);
    });
  }
});

describe('delta temporality: what the last periodic export sent is not sent again at process.exit()', () => {
  for (const row of ROWS) {
    for (const protocol of PROTOCOLS) {
      test(`${row.runtime} ${row.loader.name}, ${protocol}, exit from a gRPC handler: the deltas add up to ${CALLS}`, async () => {
        const service = `exit-delivery-delta-${row.runtime}-${protocol}`;
        const ending = await runPlugin(row, 'handler-exit', {
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_ENDPOINT: endpointOf(protocol),
          OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
        });
        assertEnded('handler-exit', ending);
        assertDelivered(service, protocol, AggregationTemporality.DELTA, ending);
      });
    }
  }
});

describe('OTLP/gRPC at process.exit() as configured: TLS with a client certificate, gzip, headers as metadata', () => {
  for (const row of ROWS) {
    test(`${row.runtime} ${row.loader.name}: everything arrives from the exit send alone`, async () => {
      const service = `exit-delivery-grpc-tls-${row.runtime}`;
      const ending = await runPlugin(row, 'exit', {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: grpcMutualTls.url,
        OTEL_EXPORTER_OTLP_CERTIFICATE: certificates.caCertificate,
        OTEL_EXPORTER_OTLP_CLIENT_KEY: certificates.clientKey,
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: certificates.clientCertificate,
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=kv%20plugins',
        // Nothing is exported before the exit: all that arrives came from the exit send.
        OTEL_METRIC_EXPORT_INTERVAL: '60000',
        OTEL_BSP_SCHEDULE_DELAY: '60000',
        OTEL_BLRP_SCHEDULE_DELAY: '60000',
      });
      assertEnded('exit', ending);
      assertDelivered(service, 'grpc', AggregationTemporality.CUMULATIVE, ending, grpcMutualTls);
      const exports = grpcMutualTls.exports.filter((received) =>
        [...received.spans, ...received.metrics, ...received.logs].some(
          (item) => item.resource['service.name'] === service,
        ),
      );
      assert.deepEqual(exports.map((received) => received.signal).sort(), ['logs', 'metrics', 'traces']);
      for (const received of exports) {
        assert.equal(received.metadata['x-tenant'], 'kv plugins');
        assert.match(received.metadata['user-agent'] ?? '', /^rpcplugin-telemetry\/\d+\.\d+\.\d+/);
      }
    });
  }
});

describe('process.exit() with the collector down: one line names what is lost, metrics included', () => {
  for (const row of ROWS) {
    for (const protocol of PROTOCOLS) {
      test(`${row.runtime} ${row.loader.name}, ${protocol}`, async () => {
        const { run } = await runPlugin(row, 'exit', {
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
          // No export before the exit: its failure would be a second line.
          OTEL_METRIC_EXPORT_INTERVAL: '60000',
          OTEL_BSP_SCHEDULE_DELAY: '60000',
          OTEL_BLRP_SCHEDULE_DELAY: '60000',
          RPCPLUGIN_SHUTDOWN_TIMEOUT: '2000',
        });
        assert.equal(run.exitCode, 3, `${run.command}\n${run.stderr}`);
        const lines = run.stderr.split('\n').filter((line) => line.startsWith('rpcplugin-telemetry:'));
        assert.equal(lines.length, 1, run.stderr);
        assert.match(
          lines[0] ?? '',
          new RegExp(
            `^rpcplugin-telemetry: telemetry pending at exit is lost: ${CALLS * 2} spans \\(connection refused\\), ` +
              `${CALLS} log records \\(connection refused\\), \\d+ metric points \\(connection refused\\)\\.$`,
          ),
        );
      });
    }
  }
});
