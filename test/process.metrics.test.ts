/**
 * Process metrics, end to end, on every runtime: a real app (test/fixtures/process/busy-app.mjs)
 * burns CPU at start, blocks its event loop for 30 ms once, and idles; a real OTLP receiver decodes
 * what the agent exports every second. Each export is compared with what Linux says of the process at
 * that moment (/proc/<pid>/status VmRSS, /proc/<pid>/stat CPU ticks).
 *
 * Each runtime exports exactly the metrics it measures for real (src/agent/runtime/runtime.ts,
 * docs/process-metrics.md): Node all of them, Bun no V8 heap (its engine is JavaScriptCore), Deno no
 * event-loop delay (its monitorEventLoopDelay does not see a blocked loop).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EVENT_LOOP_RESOLUTION_MS } from '../src/agent/process/event-loop.ts';
import {
  AggregationTemporality,
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedRequest,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { fixture, type Loader, REPO_ROOT, RUNTIME_RUNS, type RuntimeName, runApp } from './support/runtimes.ts';

const SCOPE = 'rpcplugin-telemetry/process';
const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;

interface Shape {
  readonly type: 'sum' | 'gauge';
  readonly unit: string;
  /** Sums only: counters are monotonic, up-down counters are not. */
  readonly isMonotonic?: boolean;
}

const SHAPES = {
  'process.memory.usage': { type: 'sum', unit: 'By', isMonotonic: false },
  'process.cpu.time': { type: 'sum', unit: 's', isMonotonic: true },
  'v8js.memory.heap.used': { type: 'sum', unit: 'By', isMonotonic: false },
  'v8js.memory.heap.space.size': { type: 'sum', unit: 'By', isMonotonic: false },
  'nodejs.eventloop.delay.p50': { type: 'gauge', unit: 's' },
  'nodejs.eventloop.delay.p99': { type: 'gauge', unit: 's' },
  'nodejs.eventloop.delay.max': { type: 'gauge', unit: 's' },
} as const satisfies Record<string, Shape>;

type MetricName = keyof typeof SHAPES;

const MEMORY_AND_CPU: MetricName[] = ['process.memory.usage', 'process.cpu.time'];
const V8_HEAP: MetricName[] = ['v8js.memory.heap.used', 'v8js.memory.heap.space.size'];
const EVENT_LOOP: MetricName[] = [
  'nodejs.eventloop.delay.p50',
  'nodejs.eventloop.delay.p99',
  'nodejs.eventloop.delay.max',
];

interface Row {
  readonly runtime: RuntimeName;
  readonly loader: Loader;
  readonly metrics: readonly MetricName[];
}

/** The metrics each runtime measures: Node all of them, Bun no V8 heap, Deno no event-loop delay. */
function measuredOn(runtime: RuntimeName): MetricName[] {
  if (runtime === 'bun') return [...MEMORY_AND_CPU, ...EVENT_LOOP];
  if (runtime === 'deno') return [...MEMORY_AND_CPU, ...V8_HEAP];
  return [...MEMORY_AND_CPU, ...V8_HEAP, ...EVENT_LOOP];
}

const ROWS: readonly Row[] = RUNTIME_RUNS.map(({ runtime, loader }) => ({
  runtime,
  loader,
  metrics: measuredOn(runtime),
}));

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** What Linux says of a process: resident memory and CPU time. */
interface ProcState {
  readonly rssBytes: number;
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

function procState(pid: number): ProcState {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    rssBytes: rssKiB * 1024,
    userSeconds: Number(fields[11]) / CLOCK_TICKS_PER_SECOND,
    systemSeconds: Number(fields[12]) / CLOCK_TICKS_PER_SECOND,
  };
}

/** One export of the process scope, with what /proc said as it arrived. */
interface Export {
  readonly metrics: ReadonlyMap<string, ReceivedMetric>;
  readonly proc: ProcState;
  /** Whether the app had reported its 30 ms block when this export arrived. */
  readonly afterBlock: boolean;
}

const BLOCK_MS = 30;
const BURN_MS = 300;

/** Runs the busy app until `count` exports have arrived, two of them after its event-loop block. */
async function observe(row: Row, receiver: OtlpReceiver, env: Record<string, string> = {}): Promise<Export[]> {
  let pid: number | undefined;
  let blocked = false;
  const seen = new Map<ReceivedRequest, Export>();
  let stop: (() => void) | undefined;
  const run = runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('process/busy-app.mjs'),
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      FIXTURE_BURN_MS: String(BURN_MS),
      FIXTURE_BLOCK_MS: String(BLOCK_MS),
      FIXTURE_BLOCK_AT_MS: '1500',
      ...env,
    },
    onSpawn(child) {
      pid = child.pid;
      child.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('app: blocked')) blocked = true;
      });
      stop = () => child.kill('SIGTERM');
    },
  });
  try {
    return await receiver.waitFor(
      (r) => {
        for (const request of r.requests) {
          if (seen.has(request) || request.metrics.length === 0 || pid === undefined) continue;
          const metrics = new Map(request.metrics.filter((m) => m.scope.name === SCOPE).map((m) => [m.name, m]));
          seen.set(request, { metrics, proc: procState(pid), afterBlock: blocked });
        }
        const exports = [...seen.values()];
        return exports.filter((e) => e.afterBlock).length >= 2 && exports.length >= 3 && exports;
      },
      { timeoutMs: 15_000, description: 'three metric exports, two of them after the event-loop block' },
    );
  } finally {
    stop?.();
    const result = await run;
    assert.equal(result.signal, 'SIGTERM', `${result.command}\n${result.stderr}`);
    assert.doesNotMatch(result.stderr, /rpcplugin-telemetry:/, result.stderr);
  }
}

function only(metric: ReceivedMetric | undefined, name: string): number {
  assert.ok(metric !== undefined, `${name} missing`);
  assert.equal(metric.dataPoints.length, 1, `${name}: one point`);
  return Number(metric.dataPoints[0]?.value);
}

function byAttribute(metric: ReceivedMetric | undefined, attribute: string): Map<string, number> {
  assert.ok(metric !== undefined);
  return new Map(metric.dataPoints.map((point) => [String(point.attributes[attribute]), Number(point.value)]));
}

async function withReceiver<T>(body: (receiver: OtlpReceiver) => Promise<T>): Promise<T> {
  const receiver = await startOtlpReceiver();
  try {
    return await body(receiver);
  } finally {
    await receiver.close();
  }
}

describe('process metrics', { concurrency: true }, () => {
  for (const row of ROWS) {
    test(`${row.runtime} ${row.loader.name}: exactly ${row.metrics.length} metrics, each what Linux and the app's own load say`, () =>
      withReceiver(async (receiver) => {
        const exports = await observe(row, receiver);
        for (const [index, { metrics, proc, afterBlock }] of exports.entries()) {
          const where = `export ${index + 1} of ${row.runtime}`;
          // A collection that comes before the event-loop monitor's first sample (the start-up burn
          // held the loop past the first interval, on a busy machine) has no delay to report yet.
          const names = [...metrics.keys()].sort();
          const sampled =
            !row.metrics.some((name) => EVENT_LOOP.includes(name)) || EVENT_LOOP.every((n) => metrics.has(n));
          const expected =
            sampled || afterBlock ? row.metrics : row.metrics.filter((name) => !EVENT_LOOP.includes(name));
          assert.deepEqual(names, [...expected].sort(), where);
          for (const [name, metric] of metrics) {
            const shape = SHAPES[name as MetricName];
            assert.equal(metric.type, shape.type, `${name} type`);
            assert.equal(metric.unit, shape.unit, `${name} unit`);
            assert.notEqual(metric.description, '', `${name} description`);
            if (shape.type === 'sum') {
              assert.equal(metric.isMonotonic, shape.isMonotonic, `${name} monotonic`);
              assert.equal(metric.temporality, AggregationTemporality.CUMULATIVE, `${name} temporality`);
            }
            assert.deepEqual(
              { name: metric.scope.name, version: metric.scope.version },
              { name: SCOPE, version: PACKAGE_VERSION },
            );
          }

          // Resident memory: what /proc/<pid>/status said as the export arrived, within 10 %.
          const rss = only(metrics.get('process.memory.usage'), 'process.memory.usage');
          assert.ok(
            Math.abs(rss - proc.rssBytes) <= proc.rssBytes * 0.1,
            `${where}: RSS ${rss} vs VmRSS ${proc.rssBytes}`,
          );

          // CPU time: the start-up burn at least, and what /proc/<pid>/stat counts (in clock ticks).
          const cpu = byAttribute(metrics.get('process.cpu.time'), 'cpu.mode');
          assert.deepEqual([...cpu.keys()].sort(), ['system', 'user']);
          const user = cpu.get('user') as number;
          const system = cpu.get('system') as number;
          assert.ok(user >= (BURN_MS * 0.8) / 1000, `${where}: user CPU ${user} s after a ${BURN_MS} ms burn`);
          const procTotal = proc.userSeconds + proc.systemSeconds;
          assert.ok(
            Math.abs(user + system - procTotal) <= 0.05 + procTotal * 0.1,
            `${where}: CPU ${user} + ${system} s vs /proc ${proc.userSeconds} + ${proc.systemSeconds} s`,
          );

          if (row.metrics.includes('v8js.memory.heap.used')) {
            const used = byAttribute(metrics.get('v8js.memory.heap.used'), 'v8js.heap.space.name');
            const size = byAttribute(metrics.get('v8js.memory.heap.space.size'), 'v8js.heap.space.name');
            assert.deepEqual([...used.keys()].sort(), [...size.keys()].sort(), `${where}: the same spaces`);
            assert.ok(used.has('old_space') && used.has('new_space'), `${where}: spaces ${[...used.keys()]}`);
            for (const [space, bytes] of used) {
              assert.ok(Number.isInteger(bytes) && bytes >= 0 && bytes <= (size.get(space) as number), `${space}`);
            }
            const total = [...size.values()].reduce((sum, bytes) => sum + bytes, 0);
            assert.ok(total > 1024 * 1024 && total < rss, `${where}: heap ${total} within RSS ${rss}`);
          }

          if (metrics.has('nodejs.eventloop.delay.max')) {
            const p50 = only(metrics.get('nodejs.eventloop.delay.p50'), 'p50');
            const p99 = only(metrics.get('nodejs.eventloop.delay.p99'), 'p99');
            const max = only(metrics.get('nodejs.eventloop.delay.max'), 'max');
            // Percentiles come from histogram buckets: within 1 % of the exact max.
            assert.ok(p50 >= 0 && p50 <= p99 && p99 <= max * 1.01, `${where}: p50 ${p50} p99 ${p99} max ${max}`);
          }
        }

        if (row.metrics.includes('nodejs.eventloop.delay.max')) {
          // The 30 ms block is in one of the two exports after it, and the start-up burn in none
          // (the histogram is reset at each collection). A timer due during the block fires up to one
          // sampling interval later than the block's start: Node counts the interval in, Bun does not,
          // so a B ms block reads between B - resolution and B + resolution.
          const maxima = exports
            .filter((e) => e.afterBlock)
            .map((e) => only(e.metrics.get('nodejs.eventloop.delay.max'), 'max'));
          const least = (BLOCK_MS - EVENT_LOOP_RESOLUTION_MS) * 0.95;
          assert.ok(Math.max(...maxima) >= least / 1000, `a ${BLOCK_MS} ms block, seen as ${maxima}`);
          assert.ok(Math.max(...maxima) < (BURN_MS * 0.8) / 1000, `the start-up burn is not seen again: ${maxima}`);
        }
      }));
  }

  test('RPCPLUGIN_INSTRUMENTATIONS without process: no process metrics, the app’s own still exported', () =>
    withReceiver(async (receiver) => {
      const row = ROWS[0] as Row;
      const exports = await observe(row, receiver, { RPCPLUGIN_INSTRUMENTATIONS: 'grpc,pino' });
      for (const { metrics } of exports) assert.deepEqual([...metrics.keys()], []);
      assert.ok(receiver.metrics().some((metric) => metric.name === 'fixture.counter'));
    }));
});
