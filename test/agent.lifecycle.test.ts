/**
 * How the agent ends with the process, on every runtime (docs/architecture.md, rules 2 and 3): telemetry is
 * flushed at a natural exit and on SIGTERM/SIGINT, the exit code and the ending signal are those of
 * the app without the agent, an app's own signal handler keeps control, a collector that is down
 * (nothing listening, or accepting and never answering) delays the end by at most
 * RPCPLUGIN_SHUTDOWN_TIMEOUT, and the disabled switches load nothing.
 *
 * Not here: flushing at process.exit() (not implemented yet); only that it keeps the exit code and
 * does not hang.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { closedPort, type OtlpReceiver, type OtlpReceiverOptions, startOtlpReceiver } from './support/otlp-receiver.ts';
import {
  AGENT_RUNS,
  type AgentRun,
  type AppFormat,
  fixture,
  type RunResult,
  runApp,
  runtimeVersions,
} from './support/runtimes.ts';

const VERSIONS = await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)));

/** The apps: traced-app.mjs (or its CommonJS twin), and a wrapper that sets process.exitCode and prints `app: done`. */
const APPS: Readonly<Record<AppFormat, { traced: string; exitCode: string }>> = {
  esm: { traced: fixture('traced-app.mjs'), exitCode: fixture('agent-exit-code.mjs') },
  cjs: { traced: fixture('agent-traced-app.cjs'), exitCode: fixture('agent-exit-code.cjs') },
};

const HANDSHAKE = '1|1|tcp|127.0.0.1:1234|grpc\n';
const SHUTDOWN_TIMEOUT_MS = 1000;
/** What a dead collector may add to the end of the process: the timeout, plus a second of slack. */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 1000;
/** Nothing leaves before the exit flush: no batch or metric timer fires during a test. */
const NO_TIMERS = { OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_METRIC_EXPORT_INTERVAL: '60000' };
const DISABLED = { RPCPLUGIN_TELEMETRY: 'false' };

// ---------------------------------------------------------------------------------------------
// Running an app while watching it: when each stderr line came, and signals sent at a given moment
// ---------------------------------------------------------------------------------------------

interface Line {
  readonly text: string;
  /** performance.now() when the line arrived. */
  readonly at: number;
}

interface Observed extends RunResult {
  readonly lines: readonly Line[];
  /** performance.now() when the process had ended and its output was closed. */
  readonly endedAt: number;
}

interface Watched {
  /** Resolves with the moment the first stderr line matching `pattern` arrived. */
  line(pattern: RegExp): Promise<number>;
  /** Sends `signal` to the app; returns the moment it was sent. */
  kill(signal: NodeJS.Signals): number;
  readonly result: Promise<Observed>;
}

interface StartOptions {
  readonly script?: string;
  /** The run's time limit (runApp's 20 s by default). */
  readonly timeoutMs?: number;
}

function start(row: AgentRun, env: Record<string, string>, options: StartOptions = {}): Watched {
  const { script = APPS[row.format].traced, timeoutMs } = options;
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
  let partial = '';
  const result = runApp({
    runtime: row.runtime,
    loader: row.loader,
    script,
    env,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    onSpawn: (spawned) => {
      child = spawned;
      spawned.stderr.on('data', (chunk: Buffer) => {
        const at = performance.now();
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const text of parts) lines.push({ text, at });
        for (const waiter of [...waiters]) waiter();
      });
    },
  }).then((ran) => ({ ...ran, lines, endedAt: performance.now() }));
  return {
    result,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((candidate) => pattern.test(candidate.text));
          if (found === undefined) return;
          waiters.delete(check);
          resolve(found.at);
        };
        waiters.add(check);
        check();
        // The run's own time limit ends the wait if the line never comes.
        result.then(
          () => {
            if (waiters.delete(check)) reject(new Error(`the app ended without a line matching ${pattern}`));
          },
          (error: unknown) => {
            waiters.delete(check);
            reject(error);
          },
        );
      }),
    kill: (signal) => {
      assert.ok(child, 'the app has not been spawned');
      child.kill(signal);
      return performance.now();
    },
  };
}

/** Starts the app, waits until it serves, sends `signal`, and waits for the end. */
async function serveThenSignal(
  row: AgentRun,
  env: Record<string, string>,
  signal: NodeJS.Signals,
): Promise<{ run: Observed; sentAt: number }> {
  const app = start(row, { ...env, APP_END: env.APP_END ?? 'serve' });
  await app.line(/^app: serving$/);
  const sentAt = app.kill(signal);
  return { run: await app.result, sentAt };
}

/** When the app's own last line arrived: the end of its work, after which only the agent may hold it. */
function lastAppLine(run: Observed): number {
  const last = run.lines.filter((line) => line.text.startsWith('app: ')).at(-1);
  assert.ok(last, `the app printed nothing:\n${run.stderr}`);
  return last.at;
}

async function withReceiver<T>(options: OtlpReceiverOptions, body: (receiver: OtlpReceiver) => Promise<T>): Promise<T> {
  const receiver = await startOtlpReceiver(options);
  try {
    return await body(receiver);
  } finally {
    await receiver.close();
  }
}

function spanAndCounter(receiver: OtlpReceiver, timeoutMs = 5_000): Promise<true> {
  return receiver.waitFor(
    (r) =>
      r.spans().some((span) => span.name === 'fixture.work') &&
      r.metrics().some((metric) => metric.name === 'fixture.counter'),
    { timeoutMs, description: 'the span fixture.work and the metric fixture.counter' },
  );
}

const describeRun = (run: RunResult) => `${run.command}\nexit ${run.exitCode} signal ${run.signal}\n${run.stderr}`;

function assertNothingOfOurs(run: RunResult): void {
  assert.ok(!run.stderr.includes('rpcplugin-telemetry'), `a message of ours on stderr:\n${describeRun(run)}`);
}

// ---------------------------------------------------------------------------------------------
// The tests, per runtime
// ---------------------------------------------------------------------------------------------

describe('agent lifecycle, end to end', { concurrency: true }, () => {
  for (const row of AGENT_RUNS) {
    const app = row.format === 'esm' ? 'ESM app' : 'CommonJS app';
    // One test at a time per runtime, so the time bounds below measure the agent, not a crowded machine.
    describe(`${row.runtime} (${VERSIONS[row.runtime]}) ${row.loader.name}, ${app}`, { concurrency: 1 }, () => {
      test('natural exit: the span and the counter are flushed before the process ends, exit code 0', () =>
        withReceiver({}, async (receiver) => {
          const run = await start(row, { ...NO_TIMERS, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }).result;
          assert.equal(run.exitCode, 0, describeRun(run));
          assert.equal(run.signal, null);
          assert.equal(run.stdout.toString('utf8'), HANDSHAKE);
          assertNothingOfOurs(run);
          await spanAndCounter(receiver);
        }));

      test('natural exit with process.exitCode = 3: exit code 3 kept, telemetry flushed', () =>
        withReceiver({}, async (receiver) => {
          const env = { ...NO_TIMERS, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, APP_EXIT_CODE: '3' };
          const run = await start(row, env, { script: APPS[row.format].exitCode }).result;
          assert.equal(run.exitCode, 3, describeRun(run));
          assert.equal(run.signal, null);
          assert.match(run.stderr, /app: done\n$/);
          assertNothingOfOurs(run);
          await spanAndCounter(receiver);
        }));

      test('process.exit(5) (APP_END=exit): exit code 5, and the process does not linger', async (t) =>
        withReceiver({}, async (receiver) => {
          const env = {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            RPCPLUGIN_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS),
            APP_END: 'exit',
            APP_EXIT_CODE: '5',
          };
          const [run, alone] = await Promise.all([start(row, env).result, start(row, { ...env, ...DISABLED }).result]);
          assert.equal(run.exitCode, 5, describeRun(run));
          assert.equal(run.signal, null);
          assert.equal(alone.exitCode, 5, describeRun(alone));
          const delay = run.endedAt - lastAppLine(run);
          t.diagnostic(`ended ${delay.toFixed(0)} ms after the app's last line`);
          assert.ok(
            delay <= EXIT_BOUND_MS,
            `ended ${delay.toFixed(0)} ms after the app's last line\n${describeRun(run)}`,
          );
        }));

      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        test(`${signal} to a serving app without a handler: telemetry flushed, then the process ends by ${signal}, as without the agent`, () =>
          withReceiver({}, async (receiver) => {
            const env = { ...NO_TIMERS, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
            const [{ run }, { run: alone }] = await Promise.all([
              serveThenSignal(row, env, signal),
              serveThenSignal(row, { ...env, ...DISABLED }, signal),
            ]);
            assert.equal(alone.signal, signal, `without the agent: ${describeRun(alone)}`);
            assert.equal(alone.exitCode, null);
            assert.equal(run.signal, alone.signal, describeRun(run));
            assert.equal(run.exitCode, alone.exitCode, describeRun(run));
            assert.equal(run.stdout.toString('utf8'), HANDSHAKE);
            assertNothingOfOurs(run);
            await spanAndCounter(receiver);
          }));
      }

      test('while the app serves, the span and the counter leave on the batch and metric schedules, before any exit', () =>
        withReceiver({}, async (receiver) => {
          const app = start(row, {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_BSP_SCHEDULE_DELAY: '100',
            // The interval also caps the metric export timeout (at most the interval): 200 ms let a
            // first export on a loaded machine time out with a warning; 2 s leaves it room.
            OTEL_METRIC_EXPORT_INTERVAL: '2000',
            APP_END: 'serve',
          });
          try {
            await app.line(/^app: serving$/);
            // Awaited before the signal: only the periodic exports can deliver them.
            await spanAndCounter(receiver, 10_000);
          } finally {
            app.kill('SIGTERM');
          }
          const run = await app.result;
          assert.equal(run.signal, 'SIGTERM', describeRun(run));
          assertNothingOfOurs(run);
        }));

      test('SIGTERM to an app with its own handler: the handler runs and its exit code 7 stands', () =>
        withReceiver({}, async (receiver) => {
          const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, APP_END: 'handler' };
          const [{ run }, { run: alone }] = await Promise.all([
            serveThenSignal(row, env, 'SIGTERM'),
            serveThenSignal(row, { ...env, ...DISABLED }, 'SIGTERM'),
          ]);
          assert.equal(alone.exitCode, 7, `without the agent: ${describeRun(alone)}`);
          assert.equal(run.exitCode, 7, describeRun(run));
          assert.equal(run.signal, null);
          assert.match(run.stderr, /^app: own SIGTERM handler$/m);
          assertNothingOfOurs(run);
        }));

      const collectorsDown: readonly {
        name: string;
        options: OtlpReceiverOptions | undefined;
        /** What the agent says after the app's last line. */
        warnings: readonly RegExp[];
      }[] = [
        // Connections refused: the final flush tries once (no retries at exit) and says what is lost.
        {
          name: 'nothing listening',
          options: undefined,
          warnings: [
            /^rpcplugin-telemetry: \[otel warn\] export of 1 spans failed at exit \(connect ECONNREFUSED 127\.0\.0\.1:\d+\); they are lost$/,
            /^rpcplugin-telemetry: \[otel warn\] metric export at exit failed \(connect ECONNREFUSED 127\.0\.0\.1:\d+\); the last metrics are lost$/,
          ],
        },
        // The exporter waits for an answer that never comes: only the shutdown timeout ends the wait,
        // and the line says what it did not deliver, as the send at process.exit() does.
        {
          name: 'a collector that never answers',
          options: { hang: true },
          warnings: [
            /^rpcplugin-telemetry: telemetry pending at exit is lost: 1 span \(not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, \d+ ms\), \d+ metric points \(not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, \d+ ms\)\.$/,
          ],
        },
      ];
      for (const { name, options, warnings } of collectorsDown) {
        /** The endpoint of a receiver in hang mode, or of a port where nothing listens. */
        const withCollector = <T>(body: (endpoint: string) => Promise<T>): Promise<T> =>
          options === undefined
            ? closedPort().then((port) => body(`http://127.0.0.1:${port}`))
            : withReceiver(options, (receiver) => body(receiver.url));
        const base = (endpoint: string) => ({
          ...NO_TIMERS,
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          RPCPLUGIN_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS),
        });

        test(`collector down (${name}): natural exit ends within RPCPLUGIN_SHUTDOWN_TIMEOUT + 1 s with one warning, exit code 3 kept`, (t) =>
          withCollector(async (endpoint) => {
            const run = await start(
              row,
              { ...base(endpoint), APP_EXIT_CODE: '3' },
              // Killed well before the exporter's own 10 s timeout would end it.
              { script: APPS[row.format].exitCode, timeoutMs: EXIT_BOUND_MS + 3000 },
            ).result;
            assert.equal(run.exitCode, 3, describeRun(run));
            assert.equal(run.signal, null);
            const delay = run.endedAt - lastAppLine(run);
            t.diagnostic(`ended ${delay.toFixed(0)} ms after the app's last line`);
            assert.ok(delay <= EXIT_BOUND_MS, `ended ${delay.toFixed(0)} ms after 'app: done'\n${describeRun(run)}`);
            const afterApp = run.stderr.slice(run.stderr.indexOf('app: done\n') + 'app: done\n'.length);
            const lines = afterApp.split('\n').filter((line) => line !== '');
            assert.equal(lines.length, warnings.length, describeRun(run));
            for (const warning of warnings) {
              assert.ok(
                lines.some((line) => warning.test(line)),
                `no line like ${warning}\n${describeRun(run)}`,
              );
            }
          }));

        test(`collector down (${name}): SIGTERM ends the process by SIGTERM within RPCPLUGIN_SHUTDOWN_TIMEOUT + 1 s`, (t) =>
          withCollector(async (endpoint) => {
            const { run, sentAt } = await serveThenSignal(row, base(endpoint), 'SIGTERM');
            assert.equal(run.signal, 'SIGTERM', describeRun(run));
            assert.equal(run.exitCode, null);
            const delay = run.endedAt - sentAt;
            t.diagnostic(`ended ${delay.toFixed(0)} ms after SIGTERM`);
            assert.ok(delay <= EXIT_BOUND_MS, `ended ${delay.toFixed(0)} ms after SIGTERM\n${describeRun(run)}`);
          }));
      }

      for (const env of [{ RPCPLUGIN_TELEMETRY: 'false' }, { OTEL_SDK_DISABLED: 'true' }] as Record<string, string>[]) {
        const [[variable, value]] = Object.entries(env) as [[string, string]];
        test(`${variable}=${value}: no SDK loaded, nothing of ours on stderr, nothing exported`, () =>
          withReceiver({}, async (receiver) => {
            const run = await start(row, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }).result;
            // The app's first line says whether an OpenTelemetry API global exists: the SDK bundle registers one.
            assert.equal(run.stderr, 'app: started=false otel-global=false\napp: propagated=\n', describeRun(run));
            assert.equal(run.stdout.toString('utf8'), HANDSHAKE);
            assert.equal(run.exitCode, 0);
            assert.equal(run.signal, null);
            assert.equal(receiver.requests.length, 0, receiver.describe());
          }));
      }
    });
  }
});
