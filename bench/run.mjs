// `npm run bench [-- <name>…] [options]`: runs the end-to-end benchmarks one after the other, each
// with its own defaults (bench/README.md): `grpc` (throughput, bare vs agent) and `http` (cost per
// outgoing request, bare vs agent vs contrib on Node). With names, only those; options after the
// names go to each of them. The figures are recorded by hand in docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = { grpc: 'grpc.mjs', http: 'http.mjs' };
const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const firstOption = args.findIndex((arg) => arg.startsWith('-'));
const names = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const unknown = names.find((name) => !Object.hasOwn(BENCHMARKS, name));
if (unknown !== undefined) {
  process.stderr.write(
    `bench: unknown benchmark ${unknown}; the benchmarks are ${Object.keys(BENCHMARKS).join(', ')}\n`,
  );
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
  process.stderr.write(`bench: ${name} (bench/${BENCHMARKS[name]} ${options.join(' ')})\n`);
  const { status, signal } = spawnSync(process.execPath, [join(here, BENCHMARKS[name]), ...options], {
    stdio: 'inherit',
  });
  if (status !== 0) {
    process.stderr.write(`bench: ${name} failed (${signal ?? `exit code ${status}`})\n`);
    process.exit(1);
  }
}
