// What a preload adds to a process's start: wall time, CPU time and peak RSS, bare vs ours vs contrib.
//
//   npm run build && node bench/startup.mjs [--runtimes node20,node22,node24,node26,bun,deno]
//                                           [--programs empty,grpc] [--rounds 10] [--agent-env NAME=value,…]
//                                           [--quick] [--results FILE]
//
// Two programs per runtime. `empty`: `node -e 0`, `bun -e 0`, `deno eval 0` (each runtime's preload
// flag applies to these), timed from spawn to exit. `grpc`: bench/kv-bench-app.mjs as a server, timed
// from spawn to its first stdout line (the go-plugin handshake), then stopped. Each is run bare, under
// our preload (dist/register.mjs, default configuration) and under contrib's
// (@opentelemetry/auto-instrumentations-node/register, as support.mjs gives it to each runtime); both export to a local receiver that accepts
// everything. Wall, CPU and peak RSS of the child come from bench/resource-usage.mjs under Bun.
// Each round runs the three modes in a rotated order; the medians are reported, after one warm-up round.
// --quick checks the plumbing: one round, no warm-up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  baseEnv,
  CONTRIB_ENV,
  MiB,
  MODES,
  measuredOn,
  modeArgs,
  OURS_PRELOAD,
  report,
  resourceUsage,
  rotation,
  signed,
  startReceiver,
} from './measure.mjs';
import {
  CONTRIB_VERSION,
  machineLine,
  median,
  parseAgentEnv,
  ROOT,
  runtimeCommands,
  runtimeVersion,
  selectRuntimes,
} from './support.mjs';

const APP = join(ROOT, 'bench', 'kv-bench-app.mjs');
/**
 * Where the empty program runs: a directory with no node_modules. In this repository, the preload
 * would find its grpc-js from the working directory and patch it ahead, which is the cost of a gRPC
 * app's start (the `grpc` program), not of the preload's.
 */
const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'rpcplugin-bench-startup-'));

const { values: options } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'node20,node22,node24,node26,bun,deno' },
    programs: { type: 'string', default: 'empty,grpc' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'agent-env': { type: 'string', default: '' },
    results: { type: 'string' },
  },
});
const AGENT_ENV = parseAgentEnv(options['agent-env']);

const RUNTIMES = runtimeCommands(OURS_PRELOAD);

/** The command line of `program` on `runtime` in `mode`. */
function commandLine(runtime, program, mode) {
  const { command } = RUNTIMES[runtime];
  const flags = modeArgs(RUNTIMES[runtime], mode);
  if (program === 'grpc') return { command, args: [...flags, APP], cwd: ROOT };
  // runtimeCommands runs a script with `deno run -A`; `deno eval` takes the same --preload and has
  // every permission already.
  if (runtime === 'deno')
    return {
      command,
      args: ['eval', ...flags.filter((flag) => flag !== 'run' && flag !== '-A'), '0'],
      cwd: EMPTY_DIR,
    };
  return { command, args: [...flags, '-e', '0'], cwd: EMPTY_DIR };
}

async function measure(runtime, program, mode, receiverUrl) {
  const telemetry =
    mode === 'bare'
      ? {}
      : {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
          OTEL_SERVICE_NAME: `bench-startup-${runtime}`,
          ...(mode === 'contrib' ? CONTRIB_ENV : AGENT_ENV),
        };
  const env = baseEnv({ ...telemetry, ...(program === 'grpc' ? { BENCH_ROLE: 'server' } : {}) });
  const result = await resourceUsage({
    ...commandLine(runtime, program, mode),
    env,
    untilFirstLine: program === 'grpc',
  });
  const failed = program === 'grpc' ? result.firstLineMs === null : result.exitCode !== 0;
  if (failed)
    return {
      error:
        result.stderr
          .trim()
          .split('\n')
          .find((line) => line.trim() !== '') ?? `exit code ${result.exitCode}`,
    };
  return {
    wallMs: program === 'grpc' ? result.firstLineMs : result.wallMs,
    cpuMs: result.cpuMs,
    rssMiB: result.maxRssBytes / MiB,
  };
}

const runtimes = selectRuntimes(options.runtimes, RUNTIMES);
const programs = options.programs.split(',');
const rounds = Number(options.rounds ?? (options.quick ? 1 : 10));
const warmups = options.quick ? 0 : 1;
const receiver = await startReceiver();
process.stderr.write(
  `${machineLine()}\nsettings: ${rounds} rounds after ${warmups} warm-up round, modes ${MODES.join(', ')}\n`,
);

const rows = [];
for (const runtime of runtimes) {
  const version = await runtimeVersion(RUNTIMES[runtime].command);
  for (const program of programs) {
    const samples = Object.fromEntries(MODES.map((mode) => [mode, []]));
    const errors = {};
    for (let round = -warmups; round < rounds; round++) {
      for (const mode of rotation(Math.max(round, 0))) {
        if (errors[mode]) continue;
        const sample = await measure(runtime, program, mode, receiver.url);
        if (sample.error) {
          errors[mode] = sample.error;
          process.stderr.write(`${runtime} ${program} ${mode}: failed: ${sample.error}\n`);
          continue;
        }
        if (round >= 0) samples[mode].push(sample);
        process.stderr.write(
          `${runtime} ${program} ${round < 0 ? 'warm-up' : `round ${round + 1}`} ${mode}: ${sample.wallMs.toFixed(0)} ms, CPU ${sample.cpuMs.toFixed(0)} ms, peak RSS ${sample.rssMiB.toFixed(1)} MiB\n`,
        );
      }
    }
    const medians = Object.fromEntries(
      MODES.filter((mode) => !errors[mode]).map((mode) => [
        mode,
        {
          wallMs: median(samples[mode].map((sample) => sample.wallMs)),
          cpuMs: median(samples[mode].map((sample) => sample.cpuMs)),
          rssMiB: median(samples[mode].map((sample) => sample.rssMiB)),
        },
      ]),
    );
    rows.push({ runtime, version, program, medians, errors });
  }
}
await receiver.close();

const PROGRAM_LABEL = {
  empty: (runtime) =>
    runtime === 'deno' ? '`deno eval 0`' : `\`${runtime.startsWith('node') ? 'node' : 'bun'} -e 0\``,
  grpc: () => 'gRPC server to handshake',
};
const RUNTIME_LABEL = (row) =>
  `${row.runtime.startsWith('node') ? 'Node.js' : row.runtime === 'bun' ? 'Bun' : 'Deno'} ${row.version.replace(/^v/, '')}`;

function added(row, mode) {
  if (row.errors[mode]) return `does not load: ${row.errors[mode].replaceAll('|', '\\|').slice(0, 120)}`;
  const bare = row.medians.bare;
  const it = row.medians[mode];
  if (!bare || !it) return '–';
  return `${signed(it.wallMs - bare.wallMs, 0)} ms, ${signed(it.cpuMs - bare.cpuMs, 0)} ms, ${signed(it.rssMiB - bare.rssMiB)} MiB`;
}

const lines = [
  '### Startup',
  '',
  `${measuredOn(options.quick)} What a preload adds to a process's start, bare vs ours (\`dist/register.mjs\`, default configuration) vs contrib (\`@opentelemetry/auto-instrumentations-node/register\` ${CONTRIB_VERSION}, its default configuration without the cloud resource detectors; on Node with its ESM hook, as bench/grpc.mjs runs it). Both export to a local receiver. Programs: the runtime's empty program (\`node -e 0\`, \`bun -e 0\`, \`deno eval 0\`: each runtime's preload flag applies to these), run in an empty directory (no \`node_modules\`, so nothing to instrument), timed from spawn to exit; and \`bench/kv-bench-app.mjs\` as a gRPC server, timed from spawn to its handshake line on stdout. Peak RSS is the child's \`ru_maxrss\` (read through Bun). Median of ${rounds} round${rounds === 1 ? '' : 's'}, modes in rotated order, after ${warmups === 0 ? 'no warm-up' : 'one warm-up round'}.${options['agent-env'] ? ` Ours with \`${options['agent-env']}\`.` : ''} Target for ours on \`node -e 0\`: at most +60 ms wall and +20 MiB peak RSS.`,
  '',
  '| runtime | program | bare: wall, CPU, peak RSS | ours: added wall, CPU, peak RSS | contrib: added wall, CPU, peak RSS |',
  '|---|---|---|---|---|',
];
for (const row of rows) {
  const bare = row.medians.bare;
  const bareText = bare
    ? `${bare.wallMs.toFixed(0)} ms, ${bare.cpuMs.toFixed(0)} ms, ${bare.rssMiB.toFixed(1)} MiB`
    : `fails: ${row.errors.bare}`;
  lines.push(
    `| ${RUNTIME_LABEL(row)} | ${PROGRAM_LABEL[row.program](row.runtime)} | ${bareText} | ${added(row, 'ours')} | ${added(row, 'contrib')} |`,
  );
}
const targetRows = rows.filter(
  (row) => row.program === 'empty' && row.runtime.startsWith('node') && row.medians.ours && row.medians.bare,
);
if (targetRows.length > 0) {
  const verdicts = targetRows.map((row) => {
    const wall = row.medians.ours.wallMs - row.medians.bare.wallMs;
    const rss = row.medians.ours.rssMiB - row.medians.bare.rssMiB;
    return `${RUNTIME_LABEL(row)} ${wall <= 60 && rss <= 20 ? 'meets it' : 'misses it'} (${signed(wall, 0)} ms, ${signed(rss)} MiB)`;
  });
  lines.push('', `Target (ours, \`node -e 0\`, +60 ms and +20 MiB at most): ${verdicts.join('; ')}.`);
}
report(options.results, `${lines.join('\n')}\n`);
