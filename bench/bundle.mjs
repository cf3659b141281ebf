// The micro-benchmarks time the agent's TypeScript sources as dist/agent.cjs has them: bundled by
// esbuild into CommonJS for Node 20. This bundles one into a temporary file, hands its path to
// `use`, and removes it afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `source` is `{ entry: 'bench/x.ts' }` or `{ contents, sourcefile }` (TypeScript resolved from the
 * repository's root); `external` lists packages left to the app's own copy (grpc-js).
 */
export async function withBundle(source, use, external = []) {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-bench-'));
  try {
    const outfile = join(dir, 'bench.cjs');
    await build({
      absWorkingDir: ROOT,
      ...(source.entry === undefined
        ? { stdin: { contents: source.contents, sourcefile: source.sourcefile, loader: 'ts', resolveDir: ROOT } }
        : { entryPoints: [source.entry] }),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile,
      external,
      logLevel: 'warning',
    });
    return await use(outfile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
