/**
 * What the build leaves in dist/ is usable as it is in a checkout. `npm test` has just rebuilt dist/
 * (a rewrite that npm's install-time chmod of the bin no longer covers), so the CLI bundle must have
 * kept its executable bit by the build's own doing: `npx rpcplugin-telemetry` and `./dist/cli.mjs` run.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
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
