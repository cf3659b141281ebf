/**
 * Which grpc-js the agent instruments, and what it does when it cannot: an app without grpc-js
 * loads none and hears nothing (a debug line at most); RPCPLUGIN_INSTRUMENTATIONS without grpc
 * leaves grpc-js alone; grpc-js loaded by an earlier preload is still reached; a grpc-js outside the
 * supported range, or of a shape the agent does not know, is one warning and the app runs on.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertKvResults, CAPTURE, GRPC_FIXTURES, runKv } from './support/grpc.ts';
import { assertKvSpans } from './support/grpc-kv.ts';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { BUILT_PRELOAD, loader, RUNTIMES, runApp } from './support/runtimes.ts';

/** An app that uses no gRPC and reports whether any grpc-js module got loaded. */
const PLAIN_APP = `'use strict';
const loaded = Object.keys(require.cache).filter((path) => path.includes('grpc-js'));
process.stdout.write(JSON.stringify({ loaded }) + '\\n');
`;

let receiver: OtlpReceiver;
let dir: string;
before(async () => {
  receiver = await startOtlpReceiver();
  dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-grpc-loading-'));
  // Apps outside the repository: node_modules holds what each one is meant to resolve.
  const app = (name: string, grpcJs?: { version: string; modules: Record<string, string> }) => {
    const appDir = join(dir, name);
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'app.cjs'), PLAIN_APP);
    if (grpcJs === undefined) return;
    const root = join(appDir, 'node_modules', '@grpc', 'grpc-js');
    mkdirSync(join(root, 'build', 'src'), { recursive: true });
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name: '@grpc/grpc-js', version: grpcJs.version, main: 'build/src/index.js' }),
    );
    for (const [file, text] of Object.entries(grpcJs.modules)) writeFileSync(join(root, 'build', 'src', file), text);
  };
  app('none');
  app('future', { version: '2.0.0', modules: { 'index.js': '' } });
  app('unknown-shape', {
    version: '1.99.0',
    modules: { 'index.js': '', 'client.js': '', 'server.js': '', 'make-client.js': '', 'metadata.js': '' },
  });
});
after(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an app without grpc-js', { concurrency: 3 }, () => {
  // The app reads require.cache, so the agent comes by require too where the runtime can preload
  // that way (Bun has one module cache for both).
  const runtimes = RUNTIMES.map((runtime) => [runtime, runtime === 'bun' ? '--preload' : '--require'] as const);
  for (const [runtime, via] of runtimes) {
    test(`${runtime} ${via}: grpc-js is not loaded and nothing is said (a debug line with OTEL_LOG_LEVEL=debug)`, async () => {
      const script = join(dir, 'none', 'app.cjs');
      const env = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
      const [quiet, debug] = await Promise.all([
        runApp({ runtime, loader: loader(runtime, via), script, env, cwd: join(dir, 'none') }),
        runApp({
          runtime,
          loader: loader(runtime, via),
          script,
          env: { ...env, OTEL_LOG_LEVEL: 'debug' },
          cwd: join(dir, 'none'),
        }),
      ]);
      assert.equal(quiet.exitCode, 0, quiet.stderr);
      assert.equal(quiet.stderr, '');
      assert.deepEqual(JSON.parse(quiet.stdout.toString('utf8')), { loaded: [] });
      assert.match(debug.stderr, /the app has no @grpc\/grpc-js .*gRPC is not instrumented/);
    });
  }
});

describe('grpc-js the agent does not instrument', { concurrency: 2 }, () => {
  const cases = [
    { app: 'future', reason: /@grpc\/grpc-js 2\.0\.0 in .* is outside the supported range >=1\.8\.0 <2\.0\.0/ },
    {
      app: 'unknown-shape',
      reason: /@grpc\/grpc-js 1\.99\.0 in .* does not have the Client, Server and make-client shapes the agent knows/,
    },
  ];
  for (const { app, reason } of cases) {
    test(`${app}: one warning, the app runs on`, async () => {
      const result = await runApp({
        runtime: 'node20',
        loader: loader('node20', '--require'),
        script: join(dir, app, 'app.cjs'),
        env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
      });
      assert.equal(result.exitCode, 0, result.stderr);
      const lines = result.stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', /^rpcplugin-telemetry: the grpc instrumentation could not start \(/);
      assert.match(lines[0] ?? '', reason);
      assert.match(lines[0] ?? '', /; the app runs without it\.$/);
    });
  }
});

describe('the KV app', { concurrency: 2 }, () => {
  test('RPCPLUGIN_INSTRUMENTATIONS without grpc: no gRPC telemetry, the calls unchanged', async () => {
    const run = await runKv(receiver, {
      runtime: 'node20',
      loader: loader('node20', '--import'),
      script: join(GRPC_FIXTURES, 'kv-app.mjs'),
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, RPCPLUGIN_INSTRUMENTATIONS: 'pino,process' },
    });
    assertKvResults(run);
    assert.deepEqual(run.spans, []);
    assert.deepEqual(run.metrics, []);
  });

  test('grpc-js loaded by an earlier preload is instrumented all the same', async () => {
    const first = join(GRPC_FIXTURES, 'load-grpc-first.cjs');
    const run = await runKv(receiver, {
      runtime: 'node20',
      loader: loader('node20', '--require'),
      script: join(GRPC_FIXTURES, 'kv-app.cjs'),
      preloads: [{ esm: first, cjs: first }, BUILT_PRELOAD],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, RPCPLUGIN_GRPC_CAPTURE_METADATA: CAPTURE },
    });
    assertKvResults(run);
    assertKvSpans(run, 'old');
  });
});
