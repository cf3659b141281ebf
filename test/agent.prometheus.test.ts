/**
 * OTEL_METRICS_EXPORTER=prometheus on each runtime: the pull endpoint serves the app's metrics with
 * the resource as target_info, and a busy port is one clear warning while the app runs on.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { closedPort } from './support/otlp-receiver.ts';
import {
  AGENT_RUNS,
  type AgentRun,
  fixture,
  loader,
  processRuntimeName,
  RUNTIME_RUNS,
  runApp,
} from './support/runtimes.ts';

const ONLY_PROMETHEUS = {
  OTEL_METRICS_EXPORTER: 'prometheus',
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
};

/**
 * The endpoint starts listening while the app's first lines run, not before them: on Node 24 with
 * --import it is up a few milliseconds after `app: serving`. Refused connections are retried for a
 * second; anything else fails at once.
 */
async function fetchOnceListening(url: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url);
    } catch (error) {
      const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      if (!refused || attempt === 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function scrapeWhileServing(row: AgentRun, port: number): Promise<{ body: string; stderr: string }> {
  let body = '';
  const run = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('traced-app.mjs'),
    env: {
      ...ONLY_PROMETHEUS,
      APP_END: 'serve',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
    },
    onSpawn(child) {
      child.stderr.on('data', async (chunk: Buffer) => {
        if (!chunk.toString().includes('app: serving')) return;
        try {
          body = await (await fetchOnceListening(`http://127.0.0.1:${port}/metrics`)).text();
        } finally {
          child.kill('SIGTERM');
        }
      });
    },
  });
  assert.equal(run.signal, 'SIGTERM', `${run.command}\n${run.stderr}`);
  return { body, stderr: run.stderr };
}

describe('the Prometheus endpoint', () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: serves the app's counter and the resource`, async () => {
      const { body, stderr } = await scrapeWhileServing(row, await closedPort());
      assert.match(
        body,
        /^fixture_counter_total\{fixture_attribute="value",otel_scope_name="rpcplugin-telemetry",otel_scope_version="[^"]+"\} 1$/m,
        stderr,
      );
      assert.match(
        body,
        new RegExp(`^target_info\\{.*process_runtime_name="${processRuntimeName(row.runtime)}".*\\} 1$`, 'm'),
      );
      assert.doesNotMatch(stderr, /rpcplugin-telemetry:/);
    });
  }

  test('a busy port: one warning naming the variables, the app runs and exits as usual', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = await runApp({
        runtime: 'node20',
        loader: loader('node20', '--import'),
        script: fixture('traced-app.mjs'),
        env: {
          ...ONLY_PROMETHEUS,
          OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
          OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
        },
      });
      assert.equal(run.exitCode, 0, run.stderr);
      const warnings = run.stderr.split('\n').filter((line) => line.startsWith('rpcplugin-telemetry:'));
      assert.deepEqual(warnings, [
        `rpcplugin-telemetry: OTEL_EXPORTER_PROMETHEUS_HOST=127.0.0.1 OTEL_EXPORTER_PROMETHEUS_PORT=${port}: the Prometheus endpoint cannot listen (listen EADDRINUSE: address already in use 127.0.0.1:${port}); it is off, the app runs on.`,
      ]);
    } finally {
      blocker.close();
    }
  });
});

describe('a Prometheus host that cannot be listened on, holding control characters', () => {
  for (const run of AGENT_RUNS) {
    test(`${run.runtime} ${run.loader.name}: the warning escapes them; no raw control byte reaches stderr`, async () => {
      const result = await runApp({
        runtime: run.runtime,
        loader: run.loader,
        script: fixture('traced-app.mjs'),
        env: {
          ...ONLY_PROMETHEUS,
          OTEL_EXPORTER_PROMETHEUS_HOST: '\u001b[31mno-such-host',
          OTEL_EXPORTER_PROMETHEUS_PORT: String(await closedPort()),
        },
      });
      assert.equal(result.exitCode, 0, result.stderr);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the bytes that must not be there
      assert.doesNotMatch(result.stderr, /[\u0000-\u0008\u000b-\u001f\u007f]/);
      const warnings = result.stderr.split('\n').filter((line) => line.startsWith('rpcplugin-telemetry:'));
      assert.equal(warnings.length, 1, result.stderr);
      assert.ok(
        warnings[0]?.startsWith(
          'rpcplugin-telemetry: OTEL_EXPORTER_PROMETHEUS_HOST=\\u001b[31mno-such-host OTEL_EXPORTER_PROMETHEUS_PORT=',
        ),
        warnings[0],
      );
    });
  }
});
