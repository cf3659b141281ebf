// `npm run docs`: writes docs/configuration.md from the variable declarations in src/env.
// `--check` only compares, and exits 1 when the file is stale.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const target = join(root, 'docs', 'configuration.md');
const scratch = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-docs-'));
try {
  const bundle = join(scratch, 'docs.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/env/docs.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'warning',
  });
  const { renderConfigurationReference } = await import(pathToFileURL(bundle).href);
  const text = renderConfigurationReference();
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== text) {
      process.stderr.write('docs/configuration.md is stale: run `npm run docs`.\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(target, text);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
