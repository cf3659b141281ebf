// gRPC throughput and latency: the same app bare, under our agent and under OpenTelemetry contrib's
// zero-code preload, side by side in one run.
//
//   npm run build && node bench/grpc.mjs [--runtimes node20,node22,node24,node26,bun,deno]
//                                         [--kinds unary,stream,latency] [--modes bare,agent,contrib]
//                                         [--rounds 5] [--duration 3000] [--warmup 1000] [--concurrency 32]
//                                         [--stream-messages 100] [--preload dist/register.mjs]
//                                         [--agent-env NAME=value,…] [--quick] [--results FILE]
//
// Each measurement is a pair of processes, as a go-plugin host and its plugin are: bench/kv-bench-app.mjs
// as the server and as the client, both bare, both under our preload (dist/register.mjs) or both
// under contrib's (`@opentelemetry/auto-instrumentations-node/register`), each in its default
// configuration, exporting over OTLP/HTTP protobuf to a local receiver that accepts everything and
// counts what each mode sent. Each round runs the modes in another order (rotated), so that drift in
// the machine's speed falls on all alike; every figure is the median of the rounds. With --results,
// the section of docs/benchmarks.md and the chart (docs/benchmarks-throughput.svg) go to FILE
// (bench/run.mjs); without it, the section is printed. bench/README.md explains the figures.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { throughputChart } from './chart.mjs';
import { emptyCounts, startCountingReceiver } from './otlp-count-receiver.mjs';
import {
  CONTRIB_ENV,
  CONTRIB_VERSION,
  machineLine,
  median,
  parseAgentEnv,
  ROOT,
  runtimeCommands,
  runtimeVersion,
  selectRuntimes,
  today,
  writeResults,
} from './support.mjs';

const APP = join(ROOT, 'bench', 'kv-bench-app.mjs');
const CHART = 'docs/benchmarks-throughput.svg';
const MODES = ['bare', 'agent', 'contrib'];
const MODE_NAMES = { bare: 'bare', agent: 'ours', contrib: 'contrib' };
/** How long a server may take to exit after SIGTERM before it is killed (a go-plugin host also gives a plugin 2 s). */
const GRACE_MS = 2000;

const { values: given } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'node20,node22,node24,node26,bun,deno' },
    kinds: { type: 'string', default: 'unary,stream,latency' },
    modes: { type: 'string', default: MODES.join(',') },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    'stream-messages': { type: 'string', default: '100' },
    preload: { type: 'string', default: join(ROOT, 'dist', 'register.mjs') },
    'agent-env': { type: 'string', default: '' },
    quick: { type: 'boolean', default: false },
    results: { type: 'string' },
  },
});
/** --quick checks the plumbing: one short round each, unless given otherwise. */
const options = {
  ...given,
  rounds: Number(given.rounds ?? (given.quick ? 1 : 5)),
  duration: given.duration ?? (given.quick ? '1000' : '3000'),
  warmup: given.warmup ?? (given.quick ? '500' : '1000'),
};
const AGENT_ENV = parseAgentEnv(options['agent-env']);
const RUNTIMES = runtimeCommands(options.preload);

function start(runtime, mode, env) {
  const { command, args, contribArgs } = RUNTIMES[runtime];
  const preloadArgs = mode === 'contrib' ? contribArgs : args(mode === 'agent');
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
  return spawn(command, [...preloadArgs, APP], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves when the child has exited (at once if it already has). */
function ended(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

/** Resolves true if the child exits within `ms`, false if not. */
async function exitsWithin(child, ms) {
  let timer;
  const exited = await Promise.race([
    ended(child).then(() => true),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return exited;
}

/**
 * Stops a server: SIGTERM, then SIGKILL after the grace period (contrib's preload handles SIGTERM
 * and keeps the process alive). True if it needed SIGKILL.
 */
async function stop(child) {
  child.kill('SIGTERM');
  if (await exitsWithin(child, GRACE_MS)) return false;
  child.kill('SIGKILL');
  await ended(child);
  return true;
}

/** The child's first stdout line; rejects with its stderr if it ends first, or kills it if it writes none within `ms`. */
function firstLine(child, what, ms) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} wrote no line within ${ms / 1000} s:\n${stderr}`));
    }, ms);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) {
        clearTimeout(timer);
        resolve(stdout.slice(0, newline));
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} ended (${code}) before writing a line:\n${stderr}`));
    });
  });
}

/** One measurement: a server and a client, both in the same mode. */
async function measure(runtime, kind, mode, receiverUrl) {
  const telemetry =
    mode === 'bare'
      ? {}
      : {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
          OTEL_SERVICE_NAME: `bench-${runtime}`,
          ...(mode === 'agent' ? AGENT_ENV : CONTRIB_ENV),
        };
  const server = start(runtime, mode, { ...telemetry, BENCH_ROLE: 'server' });
  try {
    const handshake = await firstLine(server, 'the server', 30_000);
    const address = handshake.split('|')[3];
    const client = start(runtime, mode, {
      ...telemetry,
      BENCH_ROLE: 'client',
      BENCH_KIND: kind,
      BENCH_ADDRESS: address,
      BENCH_CONCURRENCY: options.concurrency,
      BENCH_WARMUP_MS: options.warmup,
      BENCH_DURATION_MS: options.duration,
      BENCH_STREAM_MESSAGES: options['stream-messages'],
    });
    const expected = Number(options.warmup) + Number(options.duration);
    const result = JSON.parse(await firstLine(client, 'the client', expected + 30_000));
    // A client that does not exit once done (a preload keeping it alive) is not waited for.
    if (!(await exitsWithin(client, 10_000))) {
      client.kill('SIGKILL');
      await ended(client);
    }
    const rate = kind === 'stream' ? result.messages / result.seconds : result.calls / result.seconds;
    return { rate, p50Us: result.p50Us, p99Us: result.p99Us };
  } finally {
    if (await stop(server)) sigkilled.add(`${runtime} ${mode}`);
  }
}

/** The first lines of a failure's message, on one line, for the table. */
const reasonOf = (error) =>
  String(error.message)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' / ')
    .slice(0, 240);

const runtimes = selectRuntimes(options.runtimes, RUNTIMES);
const kinds = options.kinds.split(',');
const modes = options.modes.split(',');
if (!modes.includes('bare') || modes.some((mode) => !MODES.includes(mode))) {
  process.stderr.write(`--modes: bare and any of agent, contrib (got ${options.modes})\n`);
  process.exit(2);
}
const rounds = options.rounds;
const receiver = await startCountingReceiver();
/** Servers that outlived SIGTERM and were killed, as "runtime mode". */
const sigkilled = new Set();
const loadAtStart = loadavg()[0];

const settings = `${rounds} round${rounds === 1 ? '' : 's'} × ${options.duration} ms (after ${options.warmup} ms warm-up), ${options.concurrency} calls in flight, ${options['stream-messages']} messages per stream; latency: one call in flight`;
process.stderr.write(`${machineLine()}\nsettings: ${settings}\n`);

const rows = [];
/** Per runtime: what the receiver got from each mode, and why contrib could not be measured, if it could not. */
const runs = [];
for (const runtime of runtimes) {
  const version = await runtimeVersion(RUNTIMES[runtime].command);
  const label = `${runtime.startsWith('node') ? 'Node.js' : runtime === 'bun' ? 'Bun' : 'Deno'} ${version.replace(/^v/, '')}`;
  const counts = Object.fromEntries(modes.map((mode) => [mode, emptyCounts()]));
  const run = { runtime, label, counts, contribFailure: undefined };
  runs.push(run);
  for (const kind of kinds) {
    const samples = Object.fromEntries(modes.map((mode) => [mode, []]));
    for (let round = 0; round < rounds; round++) {
      const order = modes.map((_, index) => modes[(index + round) % modes.length]);
      for (const mode of order) {
        if (mode === 'contrib' && run.contribFailure !== undefined) continue;
        const before = { ...receiver.counts };
        try {
          const result = await measure(runtime, kind, mode, receiver.url);
          samples[mode].push(result);
          const latency = kind === 'latency' ? `, p50 ${result.p50Us} µs, p99 ${result.p99Us} µs` : '';
          process.stderr.write(
            `${runtime} ${kind} round ${round + 1} ${MODE_NAMES[mode].padEnd(7)}: ${result.rate.toFixed(0)}/s${latency}\n`,
          );
        } catch (error) {
          if (mode !== 'contrib') throw error;
          // Contrib not loading on a runtime is a finding, not a failure of the benchmark.
          run.contribFailure = reasonOf(error);
          process.stderr.write(`${runtime} contrib does not run: ${run.contribFailure}\n`);
        } finally {
          for (const key of Object.keys(before)) counts[mode][key] += receiver.counts[key] - before[key];
        }
      }
    }
    const pick = (mode, key) =>
      samples[mode]?.length ? median(samples[mode].map((sample) => sample[key])) : undefined;
    const ratiosOf = (mode) =>
      samples[mode]?.length === samples.bare.length
        ? samples[mode].map((sample, index) => sample.rate / samples.bare[index].rate)
        : [];
    const row = { run, kind, rate: {}, p50: {}, p99: {}, perRound: {} };
    for (const mode of modes) {
      row.rate[mode] = pick(mode, 'rate');
      row.p50[mode] = pick(mode, 'p50Us');
      row.p99[mode] = pick(mode, 'p99Us');
      row.perRound[mode] = ratiosOf(mode);
    }
    rows.push(row);
  }
}
receiver.close();
const loadAtEnd = loadavg()[0];

// ---- the section of docs/benchmarks.md ----

const fixed = (value, digits = 2) => (value === undefined ? '–' : value.toFixed(digits));
const ratio = (row, mode) =>
  row.rate[mode] === undefined || row.rate.bare === undefined ? undefined : row.rate[mode] / row.rate.bare;
const unit = (kind) => (kind === 'unary' ? 'calls/s' : 'messages/s');
const isNode = (run) => run.runtime.startsWith('node');
/** Why a contrib cell is empty or not to be trusted; undefined when contrib ran and traced the calls. */
function contribCaveat(run) {
  if (!modes.includes('contrib')) return 'not measured (`--modes`)';
  if (run.contribFailure !== undefined) return `does not run: ${run.contribFailure}`;
  if (run.counts.contrib.grpcSpans === 0) return 'runs but traces nothing: no gRPC span from it reached the receiver';
  return undefined;
}
const mark = (ok) => (ok ? ' ✓' : ' ✗');

const throughputLines = [
  '| runtime | kind | bare | ours | contrib | ours / bare | contrib / bare | ours ratio / contrib ratio | per round: ours / bare | per round: contrib / bare |',
  '|---|---|---:|---:|---:|---:|---:|---:|---|---|',
];
for (const row of rows.filter((candidate) => candidate.kind !== 'latency')) {
  const ours = ratio(row, 'agent');
  const contrib = ratio(row, 'contrib');
  const caveat = contribCaveat(row.run);
  const oursCell =
    ours === undefined ? '–' : `**${fixed(ours)}**${row.kind === 'unary' && isNode(row.run) ? mark(ours >= 0.85) : ''}`;
  // No comparison where contrib has no trustworthy figure, or none at all (a round that completed no call).
  const versus = ours === undefined || !contrib || caveat !== undefined ? undefined : ours / contrib;
  const rate = (mode) => (row.rate[mode] === undefined ? '–' : `${row.rate[mode].toFixed(0)} ${unit(row.kind)}`);
  throughputLines.push(
    `| ${row.run.label} | ${row.kind} | ${rate('bare')} | ${rate('agent')} | ${
      caveat !== undefined && contrib === undefined ? caveat : rate('contrib')
    } | ${oursCell} | ${fixed(contrib)}${caveat !== undefined && contrib !== undefined ? ` (${caveat})` : ''} | ${
      versus === undefined ? '–' : `**${fixed(versus)}**${mark(versus >= 1.25)}`
    } | ${(row.perRound.agent ?? []).map((value) => fixed(value)).join(' ')} | ${(row.perRound.contrib ?? [])
      .map((value) => fixed(value))
      .join(' ')} |`,
  );
}

const latencyLines = [
  '| runtime | bare p50 / p99 (µs) | ours p50 / p99 (µs) | contrib p50 / p99 (µs) | ours adds p50 / p99 (µs) | contrib adds p50 / p99 (µs) |',
  '|---|---:|---:|---:|---:|---:|',
];
for (const row of rows.filter((candidate) => candidate.kind === 'latency')) {
  const pair = (mode) => (row.p50[mode] === undefined ? '–' : `${row.p50[mode]} / ${row.p99[mode]}`);
  const signed = (value) => (value < 0 ? `−${-value}` : `+${value}`);
  const added = (mode) =>
    row.p50[mode] === undefined
      ? '–'
      : `${signed(row.p50[mode] - row.p50.bare)} / ${signed(row.p99[mode] - row.p99.bare)}`;
  const caveat = contribCaveat(row.run);
  latencyLines.push(
    `| ${row.run.label} | ${pair('bare')} | ${pair('agent')} | ${
      caveat !== undefined && row.p50.contrib === undefined ? caveat : pair('contrib')
    } | ${added('agent')} | ${added('contrib')} |`,
  );
}

const exportLines = [
  '| runtime | mode | trace requests | spans | gRPC spans | metric requests | log requests | server outlived SIGTERM |',
  '|---|---|---:|---:|---:|---:|---:|---|',
];
for (const run of runs) {
  for (const mode of modes.filter((candidate) => candidate !== 'bare')) {
    const count = run.counts[mode];
    exportLines.push(
      `| ${run.label} | ${MODE_NAMES[mode]} | ${count.traces} | ${count.spans} | ${count.grpcSpans} | ${count.metrics} | ${count.logs} | ${
        sigkilled.has(`${run.runtime} ${mode}`) ? `yes (killed after ${GRACE_MS / 1000} s)` : 'no'
      } |`,
    );
  }
}

const chartRuntimes = runs.map((run) => {
  const chartRatio = (kind, mode) => {
    const row = rows.find((candidate) => candidate.run === run && candidate.kind === kind);
    if (row === undefined) return undefined;
    if (mode === 'contrib' && contribCaveat(run) !== undefined) return undefined;
    return ratio(row, mode);
  };
  return {
    label: run.label,
    note: contribCaveat(run) === undefined ? undefined : 'contrib: see table',
    unary: { ours: chartRatio('unary', 'agent'), contrib: chartRatio('unary', 'contrib') },
    stream: { ours: chartRatio('stream', 'agent'), contrib: chartRatio('stream', 'contrib') },
  };
});
const drawChart = kinds.includes('unary') || kinds.includes('stream');
const agentExtras = Object.entries(AGENT_ENV).map(([name, value]) => `\`${name}=${value}\``);
const modeDescriptions = modes.map(
  (mode) =>
    ({
      bare: '**bare** (no preload)',
      agent: `**ours** (\`dist/register.mjs\`, default configuration${agentExtras.length ? `, plus ${agentExtras.join(', ')}` : ''})`,
      contrib: `**contrib** (\`@opentelemetry/auto-instrumentations-node/register\` ${CONTRIB_VERSION}, default configuration; on Node with contrib's ESM hook, see bench/README.md)`,
    })[mode],
);

const markdown = [
  '### gRPC: throughput and latency, bare vs ours vs contrib',
  '',
  `Measured on ${today()} (${machineLine().replace(/^machine: /, '')}; load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end${
    options.quick ? '; **a `--quick` run: it checks the plumbing, its figures are not measurements**' : ''
  }). Settings: ${settings}. Modes: ${modeDescriptions.join('; ')}. Both send traces and metrics over OTLP/HTTP protobuf to a local receiver (\`OTEL_EXPORTER_OTLP_ENDPOINT\`). Each figure is the median of the rounds; each round runs the modes in another order. [bench/README.md](../bench/README.md#grpc-throughput-and-latency-benchgrpcmjs) explains each figure.`,
  '',
  ...(drawChart
    ? [
        `![Throughput kept under instrumentation (instrumented / bare), unary and streaming, ours and contrib, per runtime](benchmarks-throughput.svg)`,
        '',
      ]
    : []),
  ...(throughputLines.length > 2
    ? [
        '**Throughput.** Targets: unary on Node at least 0.85 of bare (✓/✗ in "ours / bare"), and ours at least 1.25 × contrib\'s ratio on every runtime (✓/✗ in "ours ratio / contrib ratio").',
        '',
        ...throughputLines,
        '',
      ]
    : []),
  ...(latencyLines.length > 2
    ? [
        '**Latency** of sequential unary calls (one in flight), measured per call in the client.',
        '',
        ...latencyLines,
        '',
      ]
    : []),
  `**What the receiver got** over the whole run (the proof that each mode exported, and traced the gRPC calls):`,
  '',
  ...exportLines,
  '',
].join('\n');

if (options.results) {
  writeResults(options.results, markdown, drawChart ? { [CHART]: throughputChart(chartRuntimes) } : {});
  process.stderr.write(`grpc: results written to ${options.results}\n`);
} else {
  console.log(markdown);
}
