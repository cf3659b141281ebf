/**
 * The collector fault suite (issue 11, part 4). A real app under the built preload (a gRPC KV server and
 * client in one process, pino logs, then a flood of spans that overflows a small export queue, then
 * process.exit(0) as a go-plugin plugin does in Shutdown) exports every signal over OTLP/HTTP to a
 * collector that misbehaves one way per test: nothing listening, accepting and never answering, 500,
 * 429 with a long Retry-After, 413, resetting the connection once the request is in, and trickling its
 * answer a byte at a time. On one Node line, Bun and Deno, each run must show:
 * - the app's calls all succeed: its stdout is exactly what it is without the agent's export working;
 * - stderr holds the agent's lines alone (no exception, unhandled rejection or stack trace), and they
 *   are exactly the ones expected: the queue overflow, the failed exports, the one loss line at exit;
 * - the exit is bounded: from the app's last line to its end within RPCPLUGIN_SHUTDOWN_TIMEOUT and a
 *   generous margin (a bound on a hang, not a timing measurement);
 * - memory is bounded by the queue: the app's RSS after the flood stays under a generous bound.
 * A healthy collector is the control: there everything arrives and stderr is empty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closedPort, type OtlpReceiver, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import { type AgentRun, fixture, isNodeLine, RUNTIME_RUNS, type RunResult, runApp } from './support/runtimes.ts';
import { type Answer, type ScriptedServer, startScriptedServer } from './support/scripted-http-server.ts';

const CALLS = 20;
const FLOOD_SPANS = 100_000;
const QUEUE_SIZE = 100;
const SHUTDOWN_TIMEOUT_MS = 2000;
/** Past RPCPLUGIN_SHUTDOWN_TIMEOUT: a bound on a hang, generous for a loaded 2-core machine. */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 8000;
const MIB = 1024 * 1024;
/**
 * The app's RSS after the flood: 108-125 MiB on each runtime here with a queue of 100; with a queue
 * that keeps them all (OTEL_BSP_MAX_QUEUE_SIZE=200000) the same run on Node 24 ends at 272 MiB.
 */
const RSS_BOUND = 200 * MIB;

/** One Node line (the newest here, ES module with --import), Bun and Deno. */
const ROWS: readonly AgentRun[] = RUNTIME_RUNS.filter((row) => !isNodeLine(row.runtime) || row.runtime === 'node24');

interface Fault {
  readonly name: string;
  /** The scripted answer; none for a closed port. */
  readonly answer?: Answer;
  /** What the loss line at exit says of each signal. */
  readonly lostBecause: string;
  /**
   * Why the first export that fails during the run fails, as its warning says (a regular expression's
   * source). Timing decides whether that warning comes before the exit: a retried failure is still
   * retrying when a short run ends, a hang is still waiting.
   */
  readonly failedBecause: string;
}

const NOT_SENT = `not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, ${SHUTDOWN_TIMEOUT_MS} ms`;
const FAULTS: readonly Fault[] = [
  {
    name: 'refuses connections',
    lostBecause: 'connection refused',
    failedBecause: 'connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+',
  },
  { name: 'accepts and never answers', answer: 'hang', lostBecause: NOT_SENT, failedBecause: 'Request timed out' },
  {
    name: 'answers 500',
    answer: { status: 500, body: 'collector failure' },
    lostBecause: 'HTTP 500',
    failedBecause: 'Internal Server Error',
  },
  {
    name: 'answers 429 with Retry-After: 30',
    answer: { status: 429, headers: { 'retry-after': '30' } },
    lostBecause: 'HTTP 429',
    failedBecause: 'HTTP 429, Retry-After: 30',
  },
  {
    name: 'answers 413',
    answer: { status: 413, body: 'too large' },
    lostBecause: 'HTTP 413',
    failedBecause: 'Payload Too Large',
  },
  {
    name: 'resets mid-request',
    answer: 'reset',
    lostBecause: 'connection reset',
    failedBecause: '(socket hang up|read ECONNRESET)',
  },
  { name: 'trickles its answer', answer: 'trickle', lostBecause: NOT_SENT, failedBecause: 'Request timed out' },
];

const servers = new Map<string, ScriptedServer>();
let healthy: OtlpReceiver;
before(async () => {
  healthy = await startOtlpReceiver();
  for (const fault of FAULTS) {
    const { answer } = fault;
    if (answer !== undefined) servers.set(fault.name, await startScriptedServer(() => answer));
  }
});
after(async () => {
  await Promise.all([healthy.close(), ...[...servers.values()].map((server) => server.close())]);
});

async function endpointOf(fault: Fault): Promise<string> {
  return servers.get(fault.name)?.url ?? `http://127.0.0.1:${await closedPort()}`;
}

interface Ending {
  readonly run: RunResult;
  /** From the app's "ending" line to the process's end. */
  readonly endingMs: number;
}

async function runFaultApp(row: AgentRun, endpoint: string, service: string): Promise<Ending> {
  let endingAt = Number.NaN;
  let stdout = '';
  const run = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('grpc/faults-app.mjs'),
    timeoutMs: 60_000,
    env: {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      FIXTURE_CALLS: String(CALLS),
      FLOOD_SPANS: String(FLOOD_SPANS),
      OTEL_BSP_MAX_QUEUE_SIZE: String(QUEUE_SIZE),
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
      // Logs and metrics go at the exit only, so the lines expected do not depend on timing.
      OTEL_BLRP_SCHEDULE_DELAY: '60000',
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      RPCPLUGIN_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS),
    },
    onSpawn(child) {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (Number.isNaN(endingAt) && stdout.includes('ending\n')) endingAt = performance.now();
      });
    },
  });
  return { run, endingMs: performance.now() - endingAt };
}

/** The app's own output with the agent's export failing or working: every call answered. */
const EXPECTED_STDOUT = [
  ...Array.from({ length: CALLS }, (_, i) => `get key-${i}: value-of-key-${i}`),
  `calls ok: ${CALLS}/${CALLS}`,
  'rss <bytes>',
  'ending',
  '',
].join('\n');

function explain(run: RunResult): string {
  return `${run.command}\nexit ${run.exitCode} signal ${run.signal}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const PREFIX = 'rpcplugin-telemetry: ';
const QUEUE_FULL = `${PREFIX}[otel warn] export queue full (${QUEUE_SIZE} spans): newer ones are dropped until it drains`;
const DROPPED = new RegExp(
  `^${escapeRegExp(`${PREFIX}[otel warn] `)}(\\d+) spans were dropped because the export queue was full \\(${QUEUE_SIZE}\\); they are lost$`,
);

/** The calls all answered, the exit came within its bound, and the RSS stayed under its bound. */
function assertAppUnharmed({ run, endingMs }: Ending): void {
  const context = explain(run);
  assert.equal(run.exitCode, 0, context);
  assert.equal(run.signal, null, context);
  const stdout = run.stdout.toString('utf8');
  assert.equal(stdout.replace(/^rss \d+$/m, 'rss <bytes>'), EXPECTED_STDOUT, context);
  const rss = Number(/^rss (\d+)$/m.exec(stdout)?.[1]);
  assert.ok(rss < RSS_BOUND, `RSS ${Math.round(rss / MIB)} MiB, over ${RSS_BOUND / MIB} MiB\n${context}`);
  assert.ok(endingMs < EXIT_BOUND_MS, `the exit took ${Math.round(endingMs)} ms\n${context}`);
}

/** stderr, line by line: the agent's lines only, the overflow said, then how many were dropped. */
function agentLines(run: RunResult): { lines: string[]; dropped: number } {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  for (const line of lines) assert.ok(line.startsWith(PREFIX), `not the agent's line: ${line}\n${explain(run)}`);
  assert.equal(lines.filter((line) => line === QUEUE_FULL).length, 1, `the overflow warning, once\n${explain(run)}`);
  const droppedLines = lines.filter((line) => DROPPED.test(line));
  assert.equal(droppedLines.length, 1, `how many spans the full queue dropped, once\n${explain(run)}`);
  const dropped = Number(DROPPED.exec(droppedLines[0] ?? '')?.[1]);
  // The flood overflows a queue of 100 by far: most of it is dropped, and no more than was made.
  assert.ok(dropped > FLOOD_SPANS / 2 && dropped <= FLOOD_SPANS, `${dropped} dropped\n${explain(run)}`);
  return { lines, dropped };
}

describe('a collector that fails: the app runs on, exits in bounded time and memory, and stderr says what is lost', {
  concurrency: 3,
}, () => {
  for (const row of ROWS) {
    for (const fault of FAULTS) {
      test(`${row.runtime} ${row.loader.name}: a collector that ${fault.name}`, async () => {
        const ending = await runFaultApp(row, await endpointOf(fault), `faults-${row.runtime}`);
        assertAppUnharmed(ending);
        const { lines } = agentLines(ending.run);
        const because = escapeRegExp(fault.lostBecause);
        const lost = new RegExp(
          `^${escapeRegExp(`${PREFIX}telemetry pending at exit is lost: `)}\\d+ spans \\(${because}\\), ` +
            `${CALLS} log records \\(${because}\\), \\d+ metric points \\(${because}\\)\\.$`,
        );
        const failed = new RegExp(
          `^${escapeRegExp(`${PREFIX}[otel warn] export of 50 spans failed (`)}${fault.failedBecause}` +
            `${escapeRegExp('); they are dropped, later ones will be tried')}$`,
        );
        const context = explain(ending.run);
        // Exactly these lines: the overflow, perhaps the first failed export, how many were dropped,
        // then the one loss line, last.
        const others = lines.filter((line) => line !== QUEUE_FULL && !DROPPED.test(line));
        assert.ok(lost.test(others.at(-1) ?? ''), `the loss line, last\n${context}`);
        assert.deepEqual(
          others.slice(0, -1).filter((line) => !failed.test(line)),
          [],
          `no other lines\n${context}`,
        );
        assert.ok(others.length <= 2, `the first failed export at most once\n${context}`);
      });
    }
    test(`${row.runtime} ${row.loader.name}: a healthy collector (the control) receives every call and log record`, async () => {
      const service = `faults-control-${row.runtime}`;
      const ending = await runFaultApp(row, healthy.url, service);
      assertAppUnharmed(ending);
      const { lines } = agentLines(ending.run);
      assert.equal(lines.length, 2, `the overflow and the dropped count alone\n${explain(ending.run)}`);
      const ofService = <T extends { resource: Record<string, unknown> }>(items: T[]) =>
        items.filter((item) => item.resource['service.name'] === service);
      const gets = ofService(healthy.spans()).filter(
        (span) => span.kind === SpanKind.SERVER && span.name.endsWith('/Get'),
      );
      assert.equal(gets.length, CALLS, 'server spans for Get');
      const logs = ofService(healthy.logs()).filter((record) => record.body === 'faults get');
      assert.equal(logs.length, CALLS, 'log records');
    });
  }
});
