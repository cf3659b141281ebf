/**
 * OTEL_SEMCONV_STABILITY_OPT_IN: `rpc` switches gRPC telemetry to the stable RPC conventions
 * (semantic conventions v1.45.0: rpc.system.name, fully qualified rpc.method, rpc.status_code,
 * error.type, rpc.*.call.duration in seconds), `rpc/dup` emits old and new together. The same KV
 * app and the same exact expectations as grpc.app.test.ts, on one row per runtime.
 */
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertKvResults, CAPTURE, GRPC_FIXTURES, KV_APP, type KvRun, runKv } from './support/grpc.ts';
import { assertKvMetrics, assertKvSpans, type Conventions } from './support/grpc-kv.ts';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { RUNTIME_RUNS } from './support/runtimes.ts';

/** One row per runtime, with the KV app in the row's format; Bun runs the TypeScript app as is. */
const ROWS = RUNTIME_RUNS.map((run) => ({ ...run, app: run.runtime === 'bun' ? 'kv-app.ts' : KV_APP[run.format] }));

/** The variable's value, and the conventions it selects (rpc/dup wins over rpc; other domains are ignored). */
const SETTINGS: readonly { value: string; conventions: Conventions }[] = [
  { value: 'rpc', conventions: 'stable' },
  { value: 'http,rpc/dup,rpc', conventions: 'dup' },
];

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

describe('RPC semantic conventions opt-in', { concurrency: 4 }, () => {
  for (const row of ROWS) {
    describe(`${row.runtime} ${row.loader.name} ${row.app}`, { concurrency: 1 }, () => {
      for (const { value, conventions } of SETTINGS) {
        describe(`OTEL_SEMCONV_STABILITY_OPT_IN=${value}`, () => {
          let run: KvRun;
          before(async () => {
            run = await runKv(receiver, {
              runtime: row.runtime,
              loader: row.loader,
              script: join(GRPC_FIXTURES, row.app),
              env: {
                OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
                OTEL_SEMCONV_STABILITY_OPT_IN: value,
                RPCPLUGIN_GRPC_CAPTURE_METADATA: CAPTURE,
              },
            });
          });
          test('the calls return what they return without the agent', () => assertKvResults(run));
          test(`spans carry the ${conventions === 'dup' ? 'old and stable' : 'stable'} attributes`, () =>
            assertKvSpans(run, conventions));
          test(`metrics are the ${conventions === 'dup' ? 'old and stable' : 'stable'} ones`, () =>
            assertKvMetrics(run, conventions));
        });
      }
    });
  }
});
