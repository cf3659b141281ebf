/**
 * What the build leaves in dist/ is usable as it is in a checkout. `npm test` has just rebuilt dist/
 * (a rewrite that npm's install-time chmod of the bin no longer covers), so the CLI bundle must have
 * kept its executable bit by the build's own doing: `npx rpcplugin-telemetry` and `./dist/cli.mjs` run. The
 * source maps that the package leaves out are in dist/ too.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { baseEnvironment, REPO_ROOT, runNpm, spawnCollect } from './support/runtimes.ts';

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
