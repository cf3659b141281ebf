/**
 * What the build leaves in dist/ is usable as it is in a checkout. `npm test` has just rebuilt dist/
 * (a rewrite that npm's install-time chmod of the bin no longer covers), so the CLI bundle must have
 * kept its executable bit by the build's own doing: `npx rpcplugin-telemetry` and `./dist/cli.mjs` run. The
 * source maps that the package leaves out are in dist/ too. And the agent starts without what only
 * some configurations use (docs/benchmarks.md, "Startup: where it goes"): no second copy of the
 * configuration schema, no TLS or zlib for plain HTTP.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { baseEnvironment, REPO_ROOT, RUNTIME_BINARIES, runNpm, spawnCollect } from './support/runtimes.ts';

const CLI = join(REPO_ROOT, 'dist', 'cli.mjs');

test('dist/cli.mjs is executable after a rebuild, and runs', async () => {
  assert.equal(statSync(CLI).mode & 0o111, 0o111, 'executable by owner, group and others');
  const direct = await spawnCollect(CLI, ['--version'], { env: baseEnvironment() });
  assert.equal(direct.exitCode, 0, direct.stderr);
  assert.match(direct.stdout.toString('utf8'), /^\d+\.\d+\.\d+\n$/);
  const npx = await runNpm('npx', ['--offline', 'rpcplugin-telemetry', 'env'], { cwd: REPO_ROOT });
  assert.equal(npx.exitCode, 0, npx.stderr);
  assert.match(npx.stdout.toString('utf8'), /^rpcplugin-telemetry configuration: /);
});

// The package leaves the source maps out (package.json "files"); a checkout's build is where they are.
test('the build writes a source map beside each bundle', () => {
  for (const bundle of ['register.mjs', 'register.cjs', 'agent.cjs', 'index.mjs', 'cli.mjs']) {
    assert.ok(existsSync(join(REPO_ROOT, 'dist', `${bundle}.map`)), `dist/${bundle}.map`);
  }
});

test('agent.cjs leaves the configuration schema and zod to the preload', () => {
  assert.match(readFileSync(join(REPO_ROOT, 'dist', 'register.cjs'), 'utf8'), /\$Zod/, 'the preload checks with zod');
  assert.doesNotMatch(readFileSync(join(REPO_ROOT, 'dist', 'agent.cjs'), 'utf8'), /\$Zod/);
});

test('the default configuration starts without node:https, node:tls or node:zlib', async () => {
  // A directory without grpc-js: the app has none to patch, as `node -e 0` outside this repository.
  const cwd = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-startup-'));
  try {
    const listLoaded = 'process.stdout.write(JSON.stringify(process.moduleLoadList))';
    const run = await spawnCollect(
      RUNTIME_BINARIES.node24,
      ['--require', join(REPO_ROOT, 'dist', 'register.cjs'), '-e', listLoaded],
      { cwd, env: { ...baseEnvironment(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } },
    );
    assert.equal(run.exitCode, 0, run.stderr);
    const loaded = new Set(JSON.parse(run.stdout.toString('utf8')) as string[]);
    assert.ok(loaded.has('NativeModule perf_hooks'), 'the agent started (its event-loop monitor is on)');
    for (const module of ['https', 'tls', 'zlib']) assert.ok(!loaded.has(`NativeModule ${module}`), module);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
