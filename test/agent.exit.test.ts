/**
 * process.exit() never returns to the event loop, so the agent's asynchronous flush cannot run;
 * the `exit` event sends what is pending synchronously instead (src/agent/lifecycle/exit-export.ts). On each
 * runtime: the span recorded just before process.exit() arrives, the exit code stands, and a dead
 * or hanging collector holds the exit no longer than RPCPLUGIN_SHUTDOWN_TIMEOUT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closedPort, type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { type AgentRun, fixture, RUNTIME_RUNS, runApp } from './support/runtimes.ts';

const SHUTDOWN_TIMEOUT_MS = 1000;

let receiver: OtlpReceiver;
let hanging: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
  hanging = await startOtlpReceiver({ hang: true });
});
after(async () => {
  await receiver.close();
  await hanging.close();
});

function exitingApp(row: AgentRun, env: Record<string, string>) {
  return runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('traced-app.mjs'),
    env: { OTEL_METRICS_EXPORTER: 'none', RPCPLUGIN_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_MS), ...env },
  });
}

describe('process.exit() sends the pending telemetry before the process ends', () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: the span arrives and exit code 4 stands`, async () => {
      const service = `exit-${row.runtime}-${row.loader.name}`;
      const run = await exitingApp(row, {
        APP_END: 'exit',
        APP_EXIT_CODE: '4',
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      });
      assert.equal(run.exitCode, 4, `${run.command}\n${run.stderr}`);
      assert.equal(run.signal, null);
      const span = receiver.spans().find((candidate) => candidate.resource['service.name'] === service);
      assert.ok(span, `no span from ${service}; received: ${receiver.describe()}\nstderr: ${run.stderr}`);
      assert.equal(span.name, 'fixture.work');
      assert.equal(span.attributes['fixture.attribute'], 'value');
      assert.doesNotMatch(run.stderr, /rpcplugin-telemetry:/, 'no warning when the export succeeds');
    });
  }
});

describe('an app whose own SIGTERM handler calls process.exit(7)', () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: the handler keeps control, 7 stands, the span arrives`, async () => {
      const service = `handler-${row.runtime}-${row.loader.name}`;
      const run = await runApp({
        runtime: row.runtime,
        loader: row.loader,
        script: fixture('traced-app.mjs'),
        env: {
          APP_END: 'handler',
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          // Long enough that only the exit path can have sent the span.
          OTEL_BSP_SCHEDULE_DELAY: '60000',
        },
        onSpawn(child) {
          child.stderr.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('app: serving')) child.kill('SIGTERM');
          });
        },
      });
      assert.equal(run.exitCode, 7, `${run.command}\n${run.stderr}`);
      assert.match(run.stderr, /^app: own SIGTERM handler$/m);
      const span = receiver.spans().find((candidate) => candidate.resource['service.name'] === service);
      assert.ok(span, `no span from ${service}; received: ${receiver.describe()}`);
    });
  }
});

describe('process.exit() with the collector down is held at most RPCPLUGIN_SHUTDOWN_TIMEOUT', () => {
  for (const row of RUNTIME_RUNS) {
    for (const collector of ['closed port', 'hanging'] as const) {
      test(`${row.runtime} ${row.loader.name}: ${collector}`, async () => {
        const endpoint = collector === 'hanging' ? hanging.url : `http://127.0.0.1:${await closedPort()}`;
        const started = performance.now();
        const run = await exitingApp(row, {
          APP_END: 'exit',
          APP_EXIT_CODE: '4',
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        });
        const elapsed = performance.now() - started;
        assert.equal(run.exitCode, 4, `${run.command}\n${run.stderr}`);
        // The whole run, start-up included, within the timeout plus one second.
        assert.ok(elapsed < SHUTDOWN_TIMEOUT_MS + 1000 + 1000, `took ${Math.round(elapsed)} ms`);
        if (collector === 'hanging') {
          assert.match(
            run.stderr,
            /^rpcplugin-telemetry: telemetry pending at exit is lost: 1 span \(not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, 1000 ms\)\.$/m,
          );
        }
      });
    }
  }
});
