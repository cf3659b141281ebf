/**
 * How node:child_process's functions reach the agent's wrappers (docs/host.md, "How the APIs are
 * reached"): every import the app makes after the preload sees them, on every runtime, unless
 * another preload imported the module as an ES module before the agent started: Node then updates
 * the bindings (module.syncBuiltinESMExports()), Bun and Deno keep the first ones for every importer.
 * The table in docs/host.md is this test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILT_PRELOAD, documentedRun, fixture, type Preload, RUNTIME_RUNS, runApp } from './support/runtimes.ts';

const EARLY: Preload = { esm: fixture('host/early-preload.mjs'), cjs: fixture('host/early-preload.mjs') };

async function report(runtime: (typeof RUNTIME_RUNS)[number]['runtime'], preloads: readonly Preload[]) {
  const result = await runApp({
    runtime,
    loader: documentedRun(runtime, 'esm').loader,
    preloads,
    script: fixture('host/import-app.mjs'),
    env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  return JSON.parse(result.stdout.toString('utf8')) as Record<string, boolean>;
}

describe('node:child_process imports see the wrappers', () => {
  for (const { runtime } of RUNTIME_RUNS) {
    const node = runtime.startsWith('node');
    test(`${runtime}: the app's ES-module import, default export and require`, async () => {
      assert.deepEqual(await report(runtime, [BUILT_PRELOAD]), {
        imported: true,
        defaultExport: true,
        required: true,
        earlyImported: false,
        earlyRequired: false,
      });
    });

    test(`${runtime}: after another preload imported the module before the agent started`, async () => {
      assert.deepEqual(await report(runtime, [EARLY, BUILT_PRELOAD]), {
        // Bun and Deno fix a builtin's ES-module bindings at its first import, for every importer.
        imported: node,
        defaultExport: true,
        required: true,
        earlyImported: node,
        earlyRequired: false,
      });
    });
  }
});
