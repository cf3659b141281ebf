// The gRPC instrumentation's own work per call, without network (bench/grpc-micro.ts): bundles it
// with esbuild into a temporary file and runs it on this Node, once with the OpenTelemetry API in
// no-op mode (the agent's own code alone) and once with the SDK (spans and metrics made, not exported).
//
//   node bench/grpc-micro.mjs
import { execFileSync } from 'node:child_process';
import { ROOT, withBundle } from './bundle.mjs';

await withBundle(
  { entry: 'bench/grpc-micro.ts' },
  (outfile) => {
    for (const mode of ['noop', 'sdk']) {
      process.stdout.write(
        execFileSync(process.execPath, [outfile], { cwd: ROOT, env: { ...process.env, MODE: mode } }),
      );
    }
  },
  ['@grpc/grpc-js'],
);
