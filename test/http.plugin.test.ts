/**
 * The one trace across processes, on every AGENT_RUNS row: a host process calls the downstream
 * plugin (a separate process that prints a go-plugin handshake line), both under the preload, and the
 * plugin's handler calls the HTTP server with fetch and node:http. One trace runs host client span →
 * plugin server span → HTTP client span → the HTTP server, which reads the injected `traceparent`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOWNSTREAM_APP, HTTP_SCOPE, stepOf } from './support/downstream.ts';
import { GRPC_SCOPE, lastJsonLine } from './support/grpc.ts';
import { type HttpTarget, startHttpTarget } from './support/http-target.ts';
import { closedPort, type OtlpReceiver, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

let receiver: OtlpReceiver;
let target: HttpTarget;
let refusedPort: number;
before(async () => {
  receiver = await startOtlpReceiver();
  target = await startHttpTarget();
  refusedPort = await closedPort();
});
after(async () => {
  await receiver.close();
  await target.close();
});

interface Plugin {
  readonly address: string;
  readonly ended: Promise<RunResult>;
  stop(): void;
}

/** Starts the downstream plugin and waits for its handshake line. */
function startPlugin(row: AgentRun, env: Record<string, string>): Promise<Plugin> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const ended = runApp({
      runtime: row.runtime,
      loader: row.loader,
      script: join(fixture('http'), DOWNSTREAM_APP[row.format]),
      env: { ...env, DOWNSTREAM_ROLE: 'plugin' },
      timeoutMs: 30_000,
      onSpawn: (child) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const handshake = /^1\|1\|tcp\|(127\.0\.0\.1:\d+)\|grpc\n/.exec(stdout);
          if (handshake) resolve({ address: handshake[1] as string, ended, stop: () => child.kill('SIGTERM') });
        });
      },
    });
    ended.then((result) => reject(new Error(`the plugin ended before its handshake:\n${result.stderr}`)), reject);
  });
}

describe('host → plugin → HTTP server, one trace across processes', { concurrency: 2 }, () => {
  for (const row of AGENT_RUNS) {
    test(`${row.runtime} ${row.loader.name} (${row.format})`, async () => {
      const run = `plugin-${row.runtime}-${row.format}`;
      const common = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, RUN_ID: run };
      const plugin = await startPlugin(row, {
        ...common,
        OTEL_SERVICE_NAME: `${run}-plugin`,
        HTTP_TARGET: target.url,
        REFUSED_TARGET: `http://127.0.0.1:${refusedPort}`,
        STEPS: 'fetch-ok,http-ok',
        RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS: 'x-step',
      });
      let host: RunResult;
      try {
        host = await runApp({
          runtime: row.runtime,
          loader: row.loader,
          script: join(fixture('http'), DOWNSTREAM_APP[row.format]),
          env: { ...common, OTEL_SERVICE_NAME: `${run}-host`, DOWNSTREAM_ROLE: 'host', KV_ADDRESS: plugin.address },
          timeoutMs: 30_000,
        });
      } finally {
        plugin.stop();
      }
      const ended = await plugin.ended;
      assert.equal(ended.signal, 'SIGTERM', ended.stderr);
      assert.equal(host.exitCode, 0, host.stderr);
      assert.deepEqual(lastJsonLine(host), { get: 'done', 'fetch-ok': '200 ok', 'http-ok': '200 ok' });

      const of = (service: string, scope: string) =>
        receiver.spans().filter((span) => span.resource['service.name'] === service && span.scope.name === scope);
      const [client] = of(`${run}-host`, GRPC_SCOPE).filter((span) => span.kind === SpanKind.CLIENT);
      const [server] = of(`${run}-plugin`, GRPC_SCOPE).filter((span) => span.kind === SpanKind.SERVER);
      assert.ok(client && server, 'the host client span and the plugin server span');
      assert.equal(server.traceId, client.traceId);
      assert.equal(server.parentSpanId, client.spanId);
      const http = of(`${run}-plugin`, HTTP_SCOPE);
      assert.deepEqual(http.map(stepOf).sort(), ['fetch-ok', 'http-ok']);
      for (const span of http) {
        const step = stepOf(span) as string;
        assert.equal(span.traceId, client.traceId, step);
        assert.equal(span.parentSpanId, server.spanId, step);
        const header = `00-${span.traceId}-${span.spanId}-01`;
        assert.deepEqual(
          target.of(run, step).map((request) => request.traceparent),
          [header],
          step,
        );
      }
    });
  }
});
