/**
 * The supported @grpc/grpc-js range, >=1.8.0 <2.0.0, at both ends: the newest (1.14, the repository's
 * own devDependency, which every other gRPC test uses) and the oldest (1.8, installed as
 * `grpc-js-1-8`). Here the KV app runs from a directory whose node_modules resolves @grpc/grpc-js to
 * 1.8, on every runtime, held to the same exact spans and metrics as with 1.14.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { appWithGrpcJs, assertKvResults, CAPTURE, KV_APP, type KvRun, runKv } from './support/grpc.ts';
import { assertKvMetrics, assertKvSpans } from './support/grpc-kv.ts';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { REPO_ROOT, RUNTIME_RUNS } from './support/runtimes.ts';

const OLDEST = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'grpc-js-1-8', 'package.json'), 'utf8'))
  .version as string;

/** One row per runtime, with the KV app in the row's format. */
const ROWS = RUNTIME_RUNS.map((run) => ({ ...run, app: KV_APP[run.format] }));

let receiver: OtlpReceiver;
let app: ReturnType<typeof appWithGrpcJs>;
before(async () => {
  receiver = await startOtlpReceiver();
  app = appWithGrpcJs('grpc-js-1-8');
});
after(async () => {
  await receiver.close();
  app.remove();
});

test(`the oldest supported version is installed: @grpc/grpc-js ${OLDEST}`, () => {
  assert.match(OLDEST, /^1\.8\.\d+$/);
});

describe(`@grpc/grpc-js ${OLDEST} (the oldest supported)`, { concurrency: 4 }, () => {
  for (const row of ROWS) {
    describe(`${row.runtime} ${row.loader.name} ${row.app}`, () => {
      let run: KvRun;
      before(async () => {
        run = await runKv(receiver, {
          runtime: row.runtime,
          loader: row.loader,
          script: join(app.dir, row.app),
          cwd: app.dir,
          env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, RPCPLUGIN_GRPC_CAPTURE_METADATA: CAPTURE },
        });
      });
      test('the app runs on 1.8 and its calls return the same', () => {
        assert.match(run.result.stderr, /^$/, run.result.stderr);
        assertKvResults(run);
      });
      test('the same spans as with 1.14', () => assertKvSpans(run, 'old'));
      test('the same metrics as with 1.14', () => assertKvMetrics(run, 'old'));
    });
  }
});
