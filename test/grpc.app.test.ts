/**
 * gRPC telemetry of an unmodified app, from the preload alone, on every runtime and every way of
 * loading grpc-js (require, import, TypeScript; `npm:` on Deno; the preload by --require or --import). The KV app (test/fixtures/grpc/)
 * serves and calls itself: unary, server-streaming, client-streaming and bidirectional calls that
 * succeed, fail, pass their deadline or are cancelled, calls made while handling calls, and a call
 * to a method the server does not have. Every row is held to the same exact spans and metrics
 * (test/support/grpc-kv.ts), under the default (old) RPC conventions, with request metadata capture.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertKvResults, CAPTURE, GRPC_FIXTURES, KV_APP, type KvRun, runKv } from './support/grpc.ts';
import { assertKvMetrics, assertKvSpans } from './support/grpc-kv.ts';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type Loader, loader, type RuntimeName, runApp } from './support/runtimes.ts';

interface Row {
  readonly runtime: RuntimeName;
  readonly loader: Loader;
  readonly app: string;
}

const row = (runtime: RuntimeName, loaderName: string, app: string): Row => ({
  runtime,
  loader: loader(runtime, loaderName),
  app,
});

const ROWS: readonly Row[] = [
  // Each runtime with its documented preload flag, and Node's --require with the CommonJS app.
  ...AGENT_RUNS.map((run) => ({ runtime: run.runtime, loader: run.loader, app: KV_APP[run.format] })),
  // The other ways: --require before an ES module app, TypeScript, CommonJS on Bun and Deno, npm: on Deno.
  row('node20', '--require', 'kv-app.mjs'),
  row('node24', '--import', 'kv-app.ts'),
  row('bun', '--preload', 'kv-app.cjs'),
  row('bun', '--preload', 'kv-app.ts'),
  row('deno', '--require', 'kv-app.cjs'),
  row('deno', '--preload', 'kv-app.ts'),
  row('deno', '--preload', 'kv-app.npm.mjs'),
];

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

describe('gRPC telemetry of the KV app, from the preload alone', { concurrency: 4 }, () => {
  for (const runtime of [...new Set(ROWS.map((entry) => entry.runtime))]) {
    describe(runtime, { concurrency: 1 }, () => {
      for (const entry of ROWS.filter((candidate) => candidate.runtime === runtime)) {
        describe(`${entry.loader.name} ${entry.app}`, () => {
          let run: KvRun;
          before(async () => {
            run = await runKv(receiver, {
              runtime,
              loader: entry.loader,
              script: join(GRPC_FIXTURES, entry.app),
              env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, RPCPLUGIN_GRPC_CAPTURE_METADATA: CAPTURE },
            });
          });

          test('the calls return what they return without the agent; nothing of ours on stderr', () => {
            assertKvResults(run);
            assert.doesNotMatch(run.result.stderr, /rpcplugin-telemetry/, run.result.stderr);
          });

          test('one client and one server span per call, parented across the call, with status and exceptions', () =>
            assertKvSpans(run, 'old'));

          test('duration histograms, active calls and messages per RPC, with bounded attributes', () =>
            assertKvMetrics(run, 'old'));
        });
      }
    });
  }
});

describe('the KV app without the agent', () => {
  test('returns the same results (the reference for the rows above)', async () => {
    const result = await runApp({ runtime: 'node20', script: join(GRPC_FIXTURES, 'kv-app.mjs'), timeoutMs: 30_000 });
    assert.equal(result.exitCode, 0, result.stderr);
    assertKvResults({ result, results: JSON.parse(result.stdout.toString('utf8')) });
  });
});
