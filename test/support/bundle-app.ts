/**
 * Bundles a TypeScript app of the tests (one that imports the agent's sources) into one CommonJS
 * file, as the build bundles dist/agent.cjs, so that Node, Bun and Deno can all run it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from './runtimes.ts';

export interface BundledApp {
  /** The bundle's path. */
  readonly script: string;
  remove(): void;
}

/** `entry` is relative to the repository's root, e.g. `test/support/some-app.ts`. */
export async function bundleApp(entry: string): Promise<BundledApp> {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-app-'));
  const script = join(dir, basename(entry).replace(/\.ts$/, '.cjs'));
  try {
    await build({
      absWorkingDir: REPO_ROOT,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: script,
      logLevel: 'warning',
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { script, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
