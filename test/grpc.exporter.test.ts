/**
 * The agent's own OTLP/gRPC exports are never traced or measured: with OTEL_EXPORTER_OTLP_PROTOCOL=grpc
 * the exporter (dist/agent-otlp-grpc.cjs, with its own copy of grpc-js) exports many times while the
 * app's instrumented grpc-js runs, and what arrives is exactly the app's telemetry: no span and no
 * metric point for the collector's Export methods, which would feed on themselves.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertKvResults, CAPTURE, GRPC_FIXTURES, KV_APP, type KvRun, runKv } from './support/grpc.ts';
import { assertKvMetrics, assertKvSpans } from './support/grpc-kv.ts';
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { RUNTIME_RUNS } from './support/runtimes.ts';

/** One row per runtime, with the KV app in the row's format. */
const ROWS = RUNTIME_RUNS.map((run) => ({ ...run, app: KV_APP[run.format] }));

let receiver: OtlpGrpcReceiver;
before(async () => {
  receiver = await startOtlpGrpcReceiver();
});
after(() => receiver.close());

describe('OTLP/gRPC export beside an instrumented grpc-js', { concurrency: 4 }, () => {
  for (const row of ROWS) {
    describe(`${row.runtime} ${row.loader.name} ${row.app}`, () => {
      let run: KvRun;
      let exports = 0;
      before(async () => {
        const before = receiver.exports.length;
        run = await runKv(receiver, {
          runtime: row.runtime,
          loader: row.loader,
          script: join(GRPC_FIXTURES, row.app),
          env: {
            OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            // Export while the app runs, again and again: each export would be traced by the next.
            OTEL_BSP_SCHEDULE_DELAY: '20',
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4',
            OTEL_METRIC_EXPORT_INTERVAL: '100',
            RPCPLUGIN_GRPC_CAPTURE_METADATA: CAPTURE,
          },
        });
        exports = receiver.exports.length - before;
      });

      test('the app ran as usual and many exports went out over gRPC', () => {
        assertKvResults(run);
        assert.ok(exports >= 5, `${exports} exports`);
      });

      test('the spans that arrive are exactly the app’s: none for the exporter’s own calls', () => {
        const names = run.spans.map((span) => span.name);
        assert.ok(!names.some((name) => name.startsWith('opentelemetry.')), names.join(', '));
        assertKvSpans(run, 'old');
      });

      test('the metric points are exactly the app’s: none for the exporter’s own calls', () => {
        const services = run.metrics.flatMap((metric) =>
          metric.dataPoints.map((point) => String(point.attributes['rpc.service'] ?? '')),
        );
        assert.ok(!services.some((service) => service.startsWith('opentelemetry.')), services.join(', '));
        assertKvMetrics(run, 'old');
      });
    });
  }
});
