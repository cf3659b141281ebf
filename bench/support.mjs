// What the end-to-end benchmarks (grpc.mjs, http.mjs) share: where the runtimes are and how each
// preloads the agent or contrib's preload, the --agent-env option, medians, and the machine line to copy with a table.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = join(ROOT, 'node_modules');
const BIN = join(MODULES, '.bin');

/**
 * OpenTelemetry contrib's zero-code preload, `@opentelemetry/auto-instrumentations-node/register`
 * (CommonJS: Node `--require`s it, as its README says), and the ESM loader hook that contrib's
 * instrumentations need to see a module an ES module imports (`@opentelemetry/instrumentation/hook.mjs`,
 * opentelemetry-js doc/esm-support.md): without it, `--require` alone instruments nothing that an ESM
 * app imports.
 */
const resolve = createRequire(import.meta.url).resolve;
/**
 * Contrib's resource detectors without the cloud ones: those query the AWS, Azure, GCP and Alibaba
 * metadata addresses, which a benchmark must not contact, and which outside those clouds cost
 * seconds of timeouts (9 s for `node -e 0` on our machine), not telemetry work.
 */
export const CONTRIB_ENV = { OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance,container' };

export const CONTRIB_PRELOAD = resolve('@opentelemetry/auto-instrumentations-node/register');
export const CONTRIB_ESM_HOOK = resolve('@opentelemetry/instrumentation/hook.mjs');
/** Its version (the package's exports hide its package.json from `require.resolve`). */
export const CONTRIB_VERSION = JSON.parse(
  readFileSync(join(dirname(CONTRIB_PRELOAD), '..', '..', 'package.json'), 'utf8'),
).version;

/**
 * Each runtime's binary and the arguments that run an app bare or with `preload` (`args(agent)`),
 * or under contrib's preload (`contribArgs`). node20 is the Node running the benchmark (end of life,
 * best-effort); node22, node24 and node26 are devDependencies, each named by its package's path
 * (they all install a bin named `node`). Bun and Deno have no loader hooks: contrib's preload is
 * given to their `--preload` as is.
 */
export function runtimeCommands(preload) {
  const node = (command) => ({
    command,
    args: (agent) => (agent ? ['--import', preload] : []),
    contribArgs: ['--experimental-loader', CONTRIB_ESM_HOOK, '--require', CONTRIB_PRELOAD],
  });
  return {
    node20: node(process.execPath),
    node22: node(join(MODULES, 'node22', 'bin', 'node')),
    node24: node(join(MODULES, 'node24', 'bin', 'node')),
    node26: node(join(MODULES, 'node26', 'bin', 'node')),
    bun: {
      command: join(BIN, 'bun'),
      args: (agent) => (agent ? ['--preload', preload] : []),
      contribArgs: ['--preload', CONTRIB_PRELOAD],
    },
    deno: {
      command: join(BIN, 'deno'),
      args: (agent) => ['run', '-A', ...(agent ? ['--preload', preload] : [])],
      contribArgs: ['run', '-A', '--preload', CONTRIB_PRELOAD],
    },
  };
}

/**
 * The runtimes named in `--runtimes` (comma-separated), each a key of `runtimes` (runtimeCommands());
 * an unknown name ends the benchmark with exit code 2 and the known ones, before anything is measured.
 */
export function selectRuntimes(list, runtimes) {
  const names = list.split(',');
  const unknown = names.filter((name) => !Object.hasOwn(runtimes, name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown runtime ${unknown.join(', ')}; known: ${Object.keys(runtimes).join(', ')}\n`);
    process.exit(2);
  }
  return names;
}

/** `--agent-env NAME=value,…`: extra variables for the agent's runs, to measure one part. */
export function parseAgentEnv(text) {
  return Object.fromEntries(
    text
      .split(',')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The version `command --version` prints, without Deno's prefix and the build details; 'unknown' if none. */
export async function runtimeVersion(command) {
  const child = spawn(command, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  const line = out.trim().split('\n')[0];
  if (code !== 0 || !line) return 'unknown';
  return line.replace(/^deno /, '').replace(/\s*\(.*$/, '');
}

/** The `machine:` line each benchmark prints on stderr, to be copied with its table. */
export function machineLine() {
  const cpu = cpus();
  return `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}`;
}

/**
 * Given `--results FILE` (bench/run.mjs passes it), a benchmark writes its section of
 * docs/benchmarks.md and any files it generates there instead of printing its table
 * (the protocol: bench/README.md, "How `npm run bench` records results").
 */
export function writeResults(file, markdown, files = {}) {
  writeFileSync(file, `${JSON.stringify({ markdown, files }, null, 2)}\n`);
}

/** Today's date, as the sections state it. */
export function today() {
  return new Date().toISOString().slice(0, 10);
}
