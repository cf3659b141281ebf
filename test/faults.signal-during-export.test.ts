/**
 * SIGTERM while an export is in flight (issue 11, part 4). An app records a span, its batch export
 * goes out, and the collector holds the request open; the app then gets SIGTERM, over OTLP/HTTP and
 * OTLP/gRPC, on Node 24, Bun and Deno, with and without a SIGTERM handler of its own:
 * - a collector that never answers: the process still ends (spawnCollect's limit is the bound: a
 *   hang fails the test), with the status the app has without the agent (killed by SIGTERM, or its
 *   handler's exit code 7); exactly one agent line on stderr, naming what is lost and why
 *   (RPCPLUGIN_SHUTDOWN_TIMEOUT); no stack trace;
 * - a collector that answers after a short delay: the same ending, the span delivered, no agent line.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { decodeExportRequest, type ReceivedSpan, type Signal } from './support/otlp-receiver.ts';
import { type AgentRun, fixture, isNodeLine, RUNTIME_RUNS, type RunResult, runApp } from './support/runtimes.ts';
import { latch, type ScriptedServer, startScriptedServer } from './support/scripted-http-server.ts';

/** One Node line (the newest here, ES module with --import), Bun and Deno. */
const ROWS: readonly AgentRun[] = RUNTIME_RUNS.filter((row) => !isNodeLine(row.runtime) || row.runtime === 'node24');
const SHUTDOWN_TIMEOUT_MS = 1500;
/** Well inside RPCPLUGIN_SHUTDOWN_TIMEOUT. */
const SHORT_DELAY_MS = 300;
const PREFIX = 'rpcplugin-telemetry: ';
/** Why the held span and the metrics collected at the end are lost, as the loss line says it (a regular expression). */
const NOT_SENT = `\\(not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, ${SHUTDOWN_TIMEOUT_MS} ms\\)`;

type Transport = 'http/protobuf' | 'grpc';
type Collector = 'holds the export' | 'answers after a short delay';
/** serve: no SIGTERM handler, the signal ends the app; handler: its own handler exits with 7. */
type Ending = 'serve' | 'handler';

/** A collector on `transport`, answering as `collector` says; `arrived` resolves with the first traces export. */
interface Fixture {
  readonly url: string;
  readonly arrived: Promise<void>;
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

async function startCollector(transport: Transport, collector: Collector): Promise<Fixture> {
  const traces = latch();
  const answer = async (signal: Signal) => {
    if (signal === 'traces') traces.release();
    if (collector === 'holds the export') await new Promise(() => {});
    await sleep(SHORT_DELAY_MS);
  };
  if (transport === 'grpc') {
    const receiver: OtlpGrpcReceiver = await startOtlpGrpcReceiver({ answerWhen: answer });
    return { url: receiver.url, arrived: traces.promise, spans: () => receiver.spans(), close: () => receiver.close() };
  }
  const server: ScriptedServer = await startScriptedServer(async (request) => {
    const signal = request.path.slice('/v1/'.length) as Signal;
    await answer(signal);
    return { status: 200, headers: { 'content-type': 'application/x-protobuf' } };
  });
  return {
    url: server.url,
    arrived: traces.promise,
    spans: () =>
      server.requests
        .filter((request) => request.path === '/v1/traces')
        .flatMap((request) => decodeExportRequest('traces', 'protobuf', request.body).spans),
    close: () => server.close(),
  };
}

const collectors: Fixture[] = [];
after(() => Promise.all(collectors.map((collector) => collector.close())));

/** Runs the app, sends SIGTERM once its first traces export has reached the collector. */
async function runUntilSignalled(row: AgentRun, transport: Transport, collector: Fixture, ending: Ending) {
  let child: ChildProcess | undefined;
  const running = runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture(row.format === 'esm' ? 'traced-app.mjs' : 'agent-traced-app.cjs'),
    timeoutMs: 30_000,
    env: {
      APP_END: ending,
      OTEL_SERVICE_NAME: `faults-signal-${row.runtime}-${transport}-${ending}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: transport,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      // The span goes out at once; metrics and logs only at the exit.
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      OTEL_BLRP_SCHEDULE_DELAY: '60000',
      RPCPLUGIN_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS),
    },
    onSpawn(spawned) {
      child = spawned;
    },
  });
  await Promise.race([collector.arrived, running]);
  child?.kill('SIGTERM');
  return running;
}

function explain(run: RunResult): string {
  return `${run.command}\nexit ${run.exitCode} signal ${run.signal}\nstderr:\n${run.stderr}`;
}

function assertEndedAsTheApp(ending: Ending, run: RunResult): void {
  if (ending === 'serve') {
    assert.equal(run.signal, 'SIGTERM', explain(run));
  } else {
    assert.equal(run.exitCode, 7, explain(run));
    assert.equal(run.signal, null, explain(run));
  }
  assert.equal(run.stdout.toString('utf8'), '1|1|tcp|127.0.0.1:1234|grpc\n', explain(run));
  assert.doesNotMatch(run.stderr, /Uncaught|^\s+at /m, explain(run));
}

const agentLines = (run: RunResult) => run.stderr.split('\n').filter((line) => line.startsWith(PREFIX));

describe('SIGTERM while an export is in flight', { concurrency: 2 }, () => {
  for (const row of ROWS) {
    for (const transport of ['http/protobuf', 'grpc'] as const) {
      for (const ending of ['serve', 'handler'] as const) {
        const how = ending === 'serve' ? 'no handler of its own' : 'its own handler exits 7';
        test(`${row.runtime} ${row.loader.name}, ${transport}, ${how}: a collector that holds the export; the exit comes, one line says what is lost`, async () => {
          const collector = await startCollector(transport, 'holds the export');
          collectors.push(collector);
          const run = await runUntilSignalled(row, transport, collector, ending);
          assertEndedAsTheApp(ending, run);
          const lines = agentLines(run);
          assert.equal(lines.length, 1, `one agent line\n${explain(run)}`);
          assert.match(
            lines[0] ?? '',
            new RegExp(
              `^${PREFIX}telemetry pending at exit is lost: 1 span ${NOT_SENT}, \\d+ metric points ${NOT_SENT}\\.$`,
            ),
            explain(run),
          );
        });
        test(`${row.runtime} ${row.loader.name}, ${transport}, ${how}: a collector that answers after ${SHORT_DELAY_MS} ms; the span is delivered`, async () => {
          const collector = await startCollector(transport, 'answers after a short delay');
          collectors.push(collector);
          const run = await runUntilSignalled(row, transport, collector, ending);
          assertEndedAsTheApp(ending, run);
          assert.deepEqual(agentLines(run), [], explain(run));
          const names = collector.spans().map((span) => span.name);
          if (ending === 'serve') {
            assert.deepEqual(names, ['fixture.work'], explain(run));
          } else {
            // process.exit() in the app's handler comes before the answer: the send at exit takes the
            // batch in flight too (BatchQueue.takePending), and the collector, which had it already,
            // gets it twice. At least once, as OTLP retries are; the span id lets a backend tell.
            assert.ok(names.length >= 1 && names.length <= 2, `${names}\n${explain(run)}`);
            assert.ok(
              names.every((name) => name === 'fixture.work'),
              `${names}\n${explain(run)}`,
            );
            const ids = new Set(collector.spans().map((span) => span.spanId));
            assert.equal(ids.size, 1, `one span, perhaps sent twice\n${explain(run)}`);
          }
        });
      }
    }
  }
});
