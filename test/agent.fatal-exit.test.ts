/**
 * The ends of a process that the agent does not choose, on every runtime:
 * - an uncaught exception or an unhandled rejection: what is pending is sent, and the process dies
 *   exactly as it does without the agent (same exit code, same message);
 * - process.exit() while the collector fails: the loss is said once, with what was lost and why;
 * - RPCPLUGIN_SHUTDOWN_TIMEOUT at its maximum: no timer overflows, nothing is sent twice, and
 *   SIGTERM still ends a process whose final flush waits on a hanging collector.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closedPort, type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

const MAX_TIMEOUT = '2147483647';

let receiver: OtlpReceiver;
let failing: OtlpReceiver;
let hanging: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
  failing = await startOtlpReceiver({ respond: { status: 500, body: 'collector failure' } });
  hanging = await startOtlpReceiver({ hang: true });
});
after(async () => {
  await receiver.close();
  await failing.close();
  await hanging.close();
});

const runName = (run: AgentRun) => `${run.runtime} ${run.loader.name}`;

function tracedApp(run: AgentRun, env: Record<string, string>, options: Partial<Parameters<typeof runApp>[0]> = {}) {
  return runApp({
    runtime: run.runtime,
    loader: run.loader,
    script: fixture('traced-app.mjs'),
    env: { OTEL_METRICS_EXPORTER: 'none', RPCPLUGIN_SHUTDOWN_TIMEOUT: '3000', ...env },
    ...options,
  });
}

/** stderr without the app's own report lines and the agent's messages: what the runtime said. */
function runtimeOutput(result: RunResult): string {
  return result.stderr
    .split('\n')
    .filter((line) => !line.startsWith('app: ') && !line.startsWith('rpcplugin-telemetry:'))
    .join('\n');
}

function spansOf(service: string) {
  return receiver.spans().filter((span) => span.resource['service.name'] === service);
}

describe('a process that dies of an error nobody handled', () => {
  for (const run of AGENT_RUNS) {
    for (const end of ['throw', 'reject'] as const) {
      test(`${runName(run)}, ${end}: the span arrives, the process dies as it does bare`, async () => {
        const service = `fatal-${end}-${run.runtime}-${run.loader.name}`;
        // A long batch delay: only the fatal-error path can have sent the span.
        const env = { APP_END: end, OTEL_SERVICE_NAME: service, OTEL_BSP_SCHEDULE_DELAY: '60000' };
        const bare = await runApp({ runtime: run.runtime, script: fixture('traced-app.mjs'), env });
        const agent = await tracedApp(run, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
        assert.notEqual(bare.exitCode, 0, `${bare.command}\n${bare.stderr}`);
        assert.equal(agent.exitCode, bare.exitCode, `${agent.command}\n${agent.stderr}`);
        assert.equal(agent.signal, bare.signal);
        assert.equal(runtimeOutput(agent), runtimeOutput(bare));
        assert.doesNotMatch(agent.stderr, /rpcplugin-telemetry:/, 'nothing of ours when the export succeeds');
        const spans = spansOf(service);
        assert.equal(spans.length, 1, `received: ${receiver.describe()}\nstderr: ${agent.stderr}`);
        assert.equal(spans[0]?.name, 'fixture.work');
      });
    }
  }
});

describe('process.exit() while the collector fails: the loss is said once', () => {
  for (const run of AGENT_RUNS) {
    for (const collector of ['answers 500', 'refuses'] as const) {
      test(`${runName(run)}: collector ${collector}`, async () => {
        const endpoint = collector === 'answers 500' ? failing.url : `http://127.0.0.1:${await closedPort()}`;
        const result = await tracedApp(run, {
          APP_END: 'exit',
          APP_EXIT_CODE: '3',
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_BSP_SCHEDULE_DELAY: '60000',
        });
        assert.equal(result.exitCode, 3, `${result.command}\n${result.stderr}`);
        const ours = result.stderr.split('\n').filter((line) => line.startsWith('rpcplugin-telemetry:'));
        const reason = collector === 'answers 500' ? 'HTTP 500' : 'connection refused';
        assert.deepEqual(ours, [`rpcplugin-telemetry: telemetry pending at exit is lost: 1 span (${reason}).`]);
      });
    }
  }
});

describe(`RPCPLUGIN_SHUTDOWN_TIMEOUT=${MAX_TIMEOUT}`, () => {
  for (const run of AGENT_RUNS) {
    test(`${runName(run)}: natural exit sends the span once, no timer warning`, async () => {
      const service = `max-timeout-${run.runtime}-${run.loader.name}`;
      const result = await tracedApp(run, {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRICS_EXPORTER: 'otlp',
        RPCPLUGIN_SHUTDOWN_TIMEOUT: MAX_TIMEOUT,
      });
      assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /TimeoutOverflowWarning|rpcplugin-telemetry:/);
      await receiver.waitFor(() => receiver.metrics().some((point) => point.resource['service.name'] === service), {
        description: `the metrics of ${service}`,
      });
      assert.equal(spansOf(service).length, 1, receiver.describe());
    });

    for (const end of ['natural', 'exit'] as const) {
      test(`${runName(run)}: SIGTERM ends the ${end} exit's flush to a hanging collector`, async () => {
        const service = `sigterm-${end}-${run.runtime}-${run.loader.name}`;
        const atCollector = () => hanging.spans().some((span) => span.resource['service.name'] === service);
        const result = await tracedApp(
          run,
          {
            APP_END: end,
            OTEL_SERVICE_NAME: service,
            OTEL_EXPORTER_OTLP_ENDPOINT: hanging.url,
            RPCPLUGIN_SHUTDOWN_TIMEOUT: MAX_TIMEOUT,
          },
          {
            timeoutMs: 15_000,
            onSpawn(child) {
              // Once the span is at the collector, the flush is waiting for an answer that never comes.
              void hanging
                .waitFor(atCollector, { timeoutMs: 10_000 })
                .then(() => setTimeout(() => child.kill('SIGTERM'), 200))
                .catch(() => child.kill('SIGKILL'));
            },
          },
        );
        assert.equal(result.signal, 'SIGTERM', `${result.command}\nexit ${result.exitCode}\n${result.stderr}`);
        assert.doesNotMatch(result.stderr, /TimeoutOverflowWarning/);
      });
    }
  }
});
