// What the cost benchmarks (startup.mjs, install.mjs, collector-down.mjs, soak.mjs) share: the three
// modes they compare, a child's wall time, CPU time and peak RSS (through Bun, bench/resource-usage.mjs),
// a collector stand-in, disk usage, and the `--results FILE` protocol of bench/run.mjs.
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machineLine, ROOT, today, writeResults } from './support.mjs';

export { CONTRIB_ENV } from './support.mjs';

export const BUN = join(ROOT, 'node_modules', '.bin', 'bun');

export const OURS_PRELOAD = join(ROOT, 'dist', 'register.mjs');

export const MODES = ['bare', 'ours', 'contrib'];

/** A runtime's arguments (an entry of support.mjs runtimeCommands) for `mode`. */
export function modeArgs(runtime, mode) {
  if (mode === 'contrib') return runtime.contribArgs;
  return runtime.args(mode === 'ours');
}

/** The modes in the order round `round` runs them: each round starts with the next one. */
export function rotation(round) {
  return MODES.map((_, index) => MODES[(round + index) % MODES.length]);
}

/** A child's environment: only what the runtimes need, so that the machine's OTEL_* cannot leak in. */
export function baseEnv(extra = {}) {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NO_COLOR: '1',
    DENO_NO_UPDATE_CHECK: '1',
    ...extra,
  };
}

/**
 * Runs `command args` once under bench/resource-usage.mjs and resolves to its
 * {exitCode, wallMs, firstLineMs, cpuMs, maxRssBytes, stderr}.
 */
export function resourceUsage(job) {
  return new Promise((resolve, reject) => {
    const helper = spawn(BUN, [join(ROOT, 'bench', 'resource-usage.mjs'), JSON.stringify({ cwd: ROOT, ...job })], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: baseEnv(),
    });
    let out = '';
    let err = '';
    helper.stdout.on('data', (chunk) => {
      out += chunk;
    });
    helper.stderr.on('data', (chunk) => {
      err += chunk;
    });
    helper.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench/resource-usage.mjs failed (${code}): ${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

/** A collector stand-in: takes every OTLP/HTTP export, answers 200 with an empty body, counts them. */
export async function startReceiver() {
  const received = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk) => {
      received.bytes += chunk.length;
    });
    request.on('end', () => {
      received.requests++;
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A local port that refuses connections: bound, its number taken, then closed again. */
export async function refusedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Disk usage of a tree as `du` counts it (allocated blocks), in bytes. */
export function diskUsage(path) {
  const stats = lstatSync(path);
  const own = stats.blocks * 512;
  if (!stats.isDirectory()) return own;
  return readdirSync(path).reduce((total, name) => total + diskUsage(join(path, name)), own);
}

export const MiB = 2 ** 20;

/** Prints the section on stdout, or, given `--results FILE`, writes it there for bench/run.mjs. */
export function report(resultsFile, markdown, files = {}) {
  if (resultsFile) writeResults(resultsFile, markdown, files);
  else process.stdout.write(markdown);
}

const loadAtStart = loadavg()[0];

/** The sentence each section opens with: when, on what, under which load; and whether it was --quick. */
export function measuredOn(quick) {
  const machine = machineLine().replace(/^machine: /, '');
  const load = `load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`;
  const note = quick ? '; **a `--quick` run: it checks the plumbing, its figures are not measurements**' : '';
  return `Measured on ${today()} (${machine}; ${load}${note}).`;
}

/** `+12.3` or `−4.5`: a difference to bare, with its sign. */
export function signed(value, digits = 1) {
  return `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(digits)}`;
}
