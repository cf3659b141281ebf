/**
 * The viewer behind `rpcplugin-telemetry tail` ships in the CLI bundle only: the preload, the agent
 * and the public API bundles that apps load carry none of it (test/architecture.imports.test.ts
 * checks the same on the sources' import graph).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './support/runtimes.ts';

const DIST = join(REPO_ROOT, 'dist');
// Strings only the viewer's modules contain.
const VIEWER_MARKERS = ['rpcplugin-telemetry tail report', 'unsupported content type', 'invalid protobuf at byte'];

test('only dist/cli.mjs contains the viewer', () => {
  const bundles = readdirSync(DIST).filter((file) => /\.(?:mjs|cjs)$/.test(file));
  assert.ok(bundles.includes('agent.cjs') && bundles.includes('register.mjs'), bundles.join(', '));
  for (const bundle of bundles) {
    const text = readFileSync(join(DIST, bundle), 'utf8');
    for (const marker of VIEWER_MARKERS) {
      assert.equal(text.includes(marker), bundle === 'cli.mjs', `${bundle} and ${JSON.stringify(marker)}`);
    }
  }
});
