/**
 * The agent runs on the main thread only; a worker opts in with startInWorker() from the public API.
 * On each runtime: the worker's span arrives when it opted in, and only then; the main thread's
 * span arrives either way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { fixture, loader, RUNTIME_RUNS, runApp } from './support/runtimes.ts';

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

function spanNames(service: string): string[] {
  return receiver
    .spans()
    .filter((span) => span.resource['service.name'] === service)
    .map((span) => span.name)
    .sort();
}

describe('worker threads', () => {
  for (const row of RUNTIME_RUNS) {
    for (const optIn of [true, false]) {
      const title = optIn
        ? 'a worker that calls startInWorker() exports its own span'
        : "a worker that does not opt in exports nothing; the main thread's span still arrives";
      test(`${row.runtime} ${row.loader.name}: ${title}`, async () => {
        const service = `worker-${row.runtime}-${optIn}`;
        const run = await runApp({
          runtime: row.runtime,
          loader: row.loader,
          script: fixture('worker-optin-app.mjs'),
          env: {
            OTEL_SERVICE_NAME: service,
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_METRICS_EXPORTER: 'none',
            WORKER_OPT_IN: String(optIn),
          },
        });
        assert.equal(run.exitCode, 0, `${run.command}\n${run.stderr}`);
        assert.match(run.stderr, new RegExp(`^worker: started=${optIn}$`, 'm'));
        assert.match(run.stderr, /^app: worker exited with 0$/m);
        assert.doesNotMatch(run.stderr, /rpcplugin-telemetry:/);
        const expected = optIn ? ['main.work', 'worker.work'] : ['main.work'];
        assert.deepEqual(spanNames(service), expected, receiver.describe());
      });
    }
  }
});

describe("a Deno worker with Deno's built-in OpenTelemetry (OTEL_DENO=true)", () => {
  test('startInWorker() stands aside as the preload did: no second SDK, the reason said once', async () => {
    const run = await runApp({
      runtime: 'deno',
      loader: loader('deno', '--preload'),
      script: fixture('worker-optin-app.mjs'),
      env: {
        OTEL_DENO: 'true',
        OTEL_SERVICE_NAME: 'worker-deno-builtin',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRICS_EXPORTER: 'none',
      },
    });
    assert.equal(run.exitCode, 0, `${run.command}\n${run.stderr}`);
    assert.match(run.stderr, /^worker: started=false$/m);
    assert.match(run.stderr, /^app: worker exited with 0$/m);
    const ours = run.stderr.split('\n').filter((line) => line.startsWith('rpcplugin-telemetry:'));
    assert.deepEqual(ours, [
      "rpcplugin-telemetry: OTEL_DENO=true: Deno's built-in OpenTelemetry exports traces, metrics and logs; the agent does not start its own SDK.",
    ]);
  });
});
