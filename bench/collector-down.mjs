// What a preload costs an app when its collector is down: the delay it adds to the app's exit, and
// the memory that 200 000 unexported spans hold. Bare vs ours vs contrib.
//
//   npm run build && node bench/collector-down.mjs [--runtimes node20,node22,node24,node26,bun,deno]
//                                                  [--spans 200000] [--exit-spans 100] [--rounds 3]
//                                                  [--quick] [--results FILE]
//
// The app is bench/spans-app.mjs: it makes spans through the OpenTelemetry API, writes one line
// (its RSS) and ends. Every export goes to a local port that refuses connections. Three runs per mode:
// `natural` (--exit-spans spans, then the event loop runs empty), `process.exit` (the same, then
// process.exit(0)), `memory` (--spans spans, then process.exit(0)) and `memory-tenth` (a tenth of them). The exit delay is the time from
// the app's line to the end of the process (what the preload's flush at exit adds); the memory is
// process.memoryUsage().rss after the spans, and the process's peak RSS. Bare has no SDK, so its spans
// are no-ops: its figures are the app's own. Each round runs the modes in a rotated order; medians.
// --quick checks the plumbing: one round, 20 000 spans.
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
  refusedPort,
  report,
  resourceUsage,
  rotation,
} from './measure.mjs';
import {
  CONTRIB_VERSION,
  machineLine,
  median,
  ROOT,
  runtimeCommands,
  runtimeVersion,
  selectRuntimes,
} from './support.mjs';

const APP = join(ROOT, 'bench', 'spans-app.mjs');

const { values: options } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'node20,node22,node24,node26,bun,deno' },
    spans: { type: 'string' },
    'exit-spans': { type: 'string', default: '100' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    results: { type: 'string' },
  },
});

const RUNTIMES = runtimeCommands(OURS_PRELOAD);
const SPANS = options.spans ?? (options.quick ? '20000' : '200000');
const CASES = {
  natural: { SPANS_COUNT: options['exit-spans'], SPANS_EXIT: 'natural' },
  'process.exit': { SPANS_COUNT: options['exit-spans'], SPANS_EXIT: 'exit' },
  // A tenth of the spans: RSS that does not grow with the tenfold is memory bounded by the queues.
  'memory-tenth': { SPANS_COUNT: String(Math.round(Number(SPANS) / 10)), SPANS_EXIT: 'exit' },
  memory: { SPANS_COUNT: SPANS, SPANS_EXIT: 'exit' },
};

async function measure(runtime, kase, mode, endpoint) {
  const { command } = RUNTIMES[runtime];
  const telemetry =
    mode === 'bare'
      ? {}
      : {
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_SERVICE_NAME: `bench-collector-down-${runtime}`,
          ...(mode === 'contrib' ? CONTRIB_ENV : {}),
        };
  const result = await resourceUsage({
    command,
    args: [...modeArgs(RUNTIMES[runtime], mode), APP],
    env: baseEnv({ ...telemetry, ...CASES[kase] }),
    timeoutMs: 120_000,
  });
  if (result.firstLine === null || result.timedOut) {
    const line = result.stderr
      .trim()
      .split('\n')
      .find((text) => text.trim() !== '');
    return { error: result.timedOut ? 'did not end within 120 s' : (line ?? `exit code ${result.exitCode}`) };
  }
  return {
    exitDelayMs: result.wallMs - result.firstLineMs,
    rssMiB: JSON.parse(result.firstLine).rss / MiB,
    peakMiB: result.maxRssBytes / MiB,
    exitCode: result.exitCode,
  };
}

const runtimes = selectRuntimes(options.runtimes, RUNTIMES);
const rounds = Number(options.rounds ?? (options.quick ? 1 : 3));
const endpoint = `http://127.0.0.1:${await refusedPort()}`;
process.stderr.write(`${machineLine()}\nsettings: ${rounds} rounds, collector ${endpoint} (refusing)\n`);

const rows = [];
for (const runtime of runtimes) {
  const version = (await runtimeVersion(RUNTIMES[runtime].command)).replace(/^v/, '');
  for (const kase of Object.keys(CASES)) {
    const samples = Object.fromEntries(MODES.map((mode) => [mode, []]));
    const errors = {};
    for (let round = 0; round < rounds; round++) {
      for (const mode of rotation(round)) {
        if (errors[mode]) continue;
        const sample = await measure(runtime, kase, mode, endpoint);
        if (sample.error) {
          errors[mode] = sample.error;
          process.stderr.write(`${runtime} ${kase} ${mode}: failed: ${sample.error}\n`);
          continue;
        }
        samples[mode].push(sample);
        process.stderr.write(
          `${runtime} ${kase} round ${round + 1} ${mode}: exit delay ${sample.exitDelayMs.toFixed(0)} ms, RSS ${sample.rssMiB.toFixed(1)} MiB, peak ${sample.peakMiB.toFixed(1)} MiB, exit code ${sample.exitCode}\n`,
        );
      }
    }
    const medians = Object.fromEntries(
      MODES.filter((mode) => samples[mode].length > 0).map((mode) => [
        mode,
        {
          exitDelayMs: median(samples[mode].map((sample) => sample.exitDelayMs)),
          rssMiB: median(samples[mode].map((sample) => sample.rssMiB)),
          peakMiB: median(samples[mode].map((sample) => sample.peakMiB)),
        },
      ]),
    );
    rows.push({ runtime, version, kase, medians, errors });
  }
}

const runtimeLabel = (row) =>
  `${row.runtime.startsWith('node') ? 'Node.js' : row.runtime === 'bun' ? 'Bun' : 'Deno'} ${row.version}`;
function cell(row, mode, what) {
  if (row.errors[mode]) return `fails: ${row.errors[mode].replaceAll('|', '\\|').slice(0, 120)}`;
  const it = row.medians[mode];
  if (!it) return '–';
  return what === 'exit'
    ? `${it.exitDelayMs.toFixed(0)} ms`
    : `${it.rssMiB.toFixed(1)} MiB (peak ${it.peakMiB.toFixed(1)})`;
}

const spans = Number(SPANS).toLocaleString('en-US');
const lines = [
  '### Collector down',
  '',
  `${measuredOn(options.quick)} The collector's endpoint refuses connections (a local port nothing listens on). The app (\`bench/spans-app.mjs\`) makes spans through the OpenTelemetry API, writes one line and ends. **Exit delay**: the time from that line to the end of the process, after ${options['exit-spans']} spans, when the event loop runs empty (natural) and at \`process.exit(0)\`. **Memory**: \`process.memoryUsage().rss\` after ${spans} spans and after a tenth of them (what the tenfold does not add is memory bounded by the queues), and the peak RSS of the process. Bare has no SDK (its spans are no-ops): its figures are the app's own. Ours: \`dist/register.mjs\`, default configuration; contrib: \`@opentelemetry/auto-instrumentations-node/register\` ${CONTRIB_VERSION}, without the cloud resource detectors (on Node with its ESM hook, as bench/grpc.mjs runs it). Median of ${rounds} round${rounds === 1 ? '' : 's'}, modes in rotated order.`,
  '',
  '| runtime | measure | bare | ours | contrib |',
  '|---|---|---:|---:|---:|',
];
const MEASURE = {
  natural: 'exit delay, natural exit',
  'process.exit': 'exit delay, `process.exit`',
  'memory-tenth': `RSS after ${Math.round(Number(SPANS) / 10).toLocaleString('en-US')} spans`,
  memory: `RSS after ${spans} spans`,
};
for (const row of rows) {
  const what = row.kase.startsWith('memory') ? 'memory' : 'exit';
  lines.push(
    `| ${runtimeLabel(row)} | ${MEASURE[row.kase]} | ${MODES.map((mode) => cell(row, mode, what)).join(' | ')} |`,
  );
}
report(options.results, `${lines.join('\n')}\n`);
