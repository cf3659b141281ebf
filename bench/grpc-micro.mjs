// The gRPC instrumentation's own work per call, without network (bench/grpc-micro.ts): bundles it
// with esbuild into a temporary file and runs it on this Node, once with the OpenTelemetry API in
// no-op mode (the agent's own code alone) and once with the SDK (spans and metrics made, not exported).
//
//   node bench/grpc-micro.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-micro-'));
try {
  const outfile = join(dir, 'grpc-micro.cjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['bench/grpc-micro.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    external: ['@grpc/grpc-js'],
    logLevel: 'warning',
  });
  for (const mode of ['noop', 'sdk']) {
    process.stdout.write(execFileSync(process.execPath, [outfile], { cwd: root, env: { ...process.env, MODE: mode } }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
