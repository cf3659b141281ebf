// Does memory grow under sustained load? The gRPC pair of bench/kv-bench-app.mjs (unary, as fast as
// it goes) under our preload, exporting to a local receiver, for five minutes; the RSS of both
// processes sampled every second.
//
//   npm run build && node bench/soak.mjs [--runtimes node24] [--modes ours] [--duration 300000]
//                                        [--settle 30000] [--concurrency 32] [--quick] [--results FILE]
//
// --modes bare,ours soaks the same pair bare first, for reference: how much a grpc-js app's own RSS
// moves over the same time.
//
// Not part of the default `npm run bench` (it takes minutes): `npm run bench -- soak`. Reported per
// process: the slope of RSS over time (least squares, MiB per minute) over the samples after
// --settle ms, with the RSS at the start of that window, at the end, and its minimum and maximum.
// RSS is VmRSS from /proc/<pid>/status (Linux). --quick checks the plumbing: 20 s, slope after 5 s.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { baseEnv, MiB, measuredOn, OURS_PRELOAD, report, startReceiver } from './measure.mjs';
import { machineLine, ROOT, runtimeCommands, runtimeVersion, selectRuntimes } from './support.mjs';

const APP = join(ROOT, 'bench', 'kv-bench-app.mjs');

const { values: options } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'node24' },
    modes: { type: 'string', default: 'ours' },
    duration: { type: 'string' },
    settle: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    quick: { type: 'boolean', default: false },
    results: { type: 'string' },
  },
});
const duration = Number(options.duration ?? (options.quick ? 20000 : 300000));
const settle = Number(options.settle ?? (options.quick ? 5000 : 30000));
const RUNTIMES = runtimeCommands(OURS_PRELOAD);

/** VmRSS of a live process in bytes, or undefined once it has gone. */
function rss(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

function firstLine(child, what) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) resolve(stdout.slice(0, newline));
    });
    child.on('close', (code) => reject(new Error(`${what} ended (${code}) before writing a line:\n${stderr}`)));
  });
}

async function soak(runtime, mode, receiverUrl) {
  const { command, args } = RUNTIMES[runtime];
  const agent = mode === 'ours';
  const telemetry = agent
    ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_SERVICE_NAME: `bench-soak-${runtime}` }
    : {};
  const start = (env) =>
    spawn(command, [...args(agent), APP], {
      cwd: ROOT,
      env: baseEnv({ ...telemetry, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const server = start({ BENCH_ROLE: 'server' });
  try {
    const address = (await firstLine(server, 'the server')).split('|')[3];
    const client = start({
      BENCH_ROLE: 'client',
      BENCH_KIND: 'unary',
      BENCH_ADDRESS: address,
      BENCH_CONCURRENCY: options.concurrency,
      BENCH_WARMUP_MS: '0',
      BENCH_DURATION_MS: String(duration),
    });
    const result = firstLine(client, 'the client');
    const samples = { server: [], client: [] };
    const started = performance.now();
    const sampler = setInterval(() => {
      const seconds = (performance.now() - started) / 1000;
      for (const [name, child] of [
        ['server', server],
        ['client', client],
      ]) {
        const bytes = rss(child.pid);
        if (bytes !== undefined) samples[name].push([seconds, bytes / MiB]);
      }
      if (Math.round(seconds) % 30 === 0) {
        process.stderr.write(
          `${runtime} ${mode} ${seconds.toFixed(0)} s: server ${samples.server.at(-1)?.[1].toFixed(1)} MiB, client ${samples.client.at(-1)?.[1].toFixed(1)} MiB\n`,
        );
      }
    }, 1000);
    const { calls, seconds } = JSON.parse(await result);
    clearInterval(sampler);
    const summary = (points) => {
      const window = points.filter(([at]) => at * 1000 >= settle);
      const values = window.map(([, mib]) => mib);
      return {
        slope: slope(window) * 60,
        first: values[0],
        last: values.at(-1),
        min: Math.min(...values),
        max: Math.max(...values),
        count: values.length,
      };
    };
    return { rate: calls / seconds, server: summary(samples.server), client: summary(samples.client) };
  } finally {
    server.kill('SIGTERM');
  }
}

const receiver = await startReceiver();
process.stderr.write(
  `${machineLine()}\nsettings: ${duration} ms, RSS every 1 s, slope after ${settle} ms, ${options.concurrency} calls in flight\n`,
);
const rows = [];
for (const runtime of selectRuntimes(options.runtimes, RUNTIMES)) {
  const version = (await runtimeVersion(RUNTIMES[runtime].command)).replace(/^v/, '');
  for (const mode of options.modes.split(',')) {
    rows.push({ runtime, version, mode, ...(await soak(runtime, mode, receiver.url)) });
  }
}
await receiver.close();

const label = (row) =>
  `${row.runtime.startsWith('node') ? 'Node.js' : row.runtime === 'bun' ? 'Bun' : 'Deno'} ${row.version}`;
const lines = [
  '### Soak',
  '',
  `${measuredOn(options.quick)} The gRPC pair of \`bench/kv-bench-app.mjs\` (unary Get calls, ${options.concurrency} in flight, as fast as they go), both processes under our preload (\`dist/register.mjs\`, default configuration) exporting to a local receiver (mode ours) or bare for reference (mode bare, with \`--modes bare,ours\`), for ${(duration / 60000).toFixed(1)} minutes. RSS (VmRSS) of each process every second; the slope is the least-squares fit over the samples after the first ${settle / 1000} s, in MiB per minute. The receiver took ${receiver.received.requests} export requests (${(receiver.received.bytes / MiB).toFixed(0)} MiB).`,
  '',
  '| runtime | mode | calls/s | process | slope | RSS at start → end of the window | min – max |',
  '|---|---|---:|---|---:|---|---|',
];
for (const row of rows) {
  for (const name of ['server', 'client']) {
    const it = row[name];
    lines.push(
      `| ${label(row)} | ${row.mode} | ${row.rate.toFixed(0)} | ${name} | ${it.slope >= 0 ? '+' : '−'}${Math.abs(it.slope).toFixed(2)} MiB/min | ${it.first?.toFixed(1)} → ${it.last?.toFixed(1)} MiB | ${it.min.toFixed(1)} – ${it.max.toFixed(1)} MiB |`,
    );
  }
}
report(options.results, `${lines.join('\n')}\n`);
