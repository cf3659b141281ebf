/**
 * Trace context through gRPC metadata, across processes, on every runtime: the KV plugin (a server
 * process that prints a go-plugin handshake) and the KV host (a client process), both under the
 * preload, make one trace; calls from a client without the agent (the test process itself, standing
 * in for a client in another language) are parented on the `traceparent` or `b3` they carry; a call
 * with no context starts a trace. The host propagates with b3 alone and the plugin extracts
 * tracecontext and b3: "b3 works the same way when configured". Nothing is captured from metadata
 * unless RPCPLUGIN_GRPC_CAPTURE_METADATA names it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GRPC_FIXTURES, GRPC_SCOPE, lastJsonLine, stepOf } from './support/grpc.ts';
import { type OtlpReceiver, type ReceivedSpan, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import { type Loader, RUNTIME_RUNS, type RunResult, type RuntimeName, runApp } from './support/runtimes.ts';

const FOREIGN = {
  traceparent: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
  b3: { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1' },
};

// biome-ignore lint/suspicious/noExplicitAny: the client class loadPackageDefinition makes is untyped.
type KvClient = any;

function foreignClient(port: number): KvClient {
  const definition = protoLoader.loadSync(['kv.proto'], { includeDirs: [GRPC_FIXTURES] });
  const proto = grpc.loadPackageDefinition(definition).proto as Record<string, KvClient>;
  return new proto.KV(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function call(client: KvClient, method: 'Get' | 'Put', request: object, headers: Record<string, string>) {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return new Promise<void>((resolve, reject) =>
    client[method](request, metadata, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

function watch(client: KvClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.Watch({ prefix: 'n', count: 1 });
    stream.on('data', () => {});
    stream.on('error', reject);
    stream.on('end', () => resolve());
  });
}

interface Plugin {
  readonly port: number;
  /** Resolves when the plugin has ended (after SIGTERM). */
  readonly ended: Promise<RunResult>;
  stop(): void;
}

/** Starts the KV plugin and waits for its handshake line. */
function startPlugin(runtime: RuntimeName, via: Loader, env: Record<string, string>): Promise<Plugin> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const ended = runApp({
      runtime,
      loader: via,
      script: join(GRPC_FIXTURES, 'kv-plugin.mjs'),
      env,
      timeoutMs: 30_000,
      onSpawn: (child) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const handshake = /^1\|1\|tcp\|127\.0\.0\.1:(\d+)\|grpc\n/.exec(stdout);
          if (handshake) resolve({ port: Number(handshake[1]), ended, stop: () => child.kill('SIGTERM') });
        });
      },
    });
    ended.then((result) => reject(new Error(`the plugin ended before its handshake:\n${result.stderr}`)), reject);
  });
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

describe('trace context through gRPC metadata', { concurrency: 4 }, () => {
  for (const row of RUNTIME_RUNS) {
    describe(`${row.runtime} ${row.loader.name}`, () => {
      const pluginService = `kv-plugin-${row.runtime}`;
      const hostService = `kv-host-${row.runtime}`;
      let pluginSpans: ReceivedSpan[];
      let hostSpans: ReceivedSpan[];
      let hostResults: Record<string, string>;

      before(async () => {
        const plugin = await startPlugin(row.runtime, row.loader, {
          OTEL_SERVICE_NAME: pluginService,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_PROPAGATORS: 'tracecontext,baggage,b3',
        });
        try {
          const host = await runApp({
            runtime: row.runtime,
            loader: row.loader,
            script: join(GRPC_FIXTURES, 'kv-host.cjs'),
            env: {
              OTEL_SERVICE_NAME: hostService,
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
              OTEL_PROPAGATORS: 'b3',
              RPCPLUGIN_GRPC_CAPTURE_METADATA: 'x-call',
              KV_ADDRESS: `127.0.0.1:${plugin.port}`,
            },
            timeoutMs: 30_000,
          });
          assert.equal(host.exitCode, 0, host.stderr);
          hostResults = lastJsonLine(host);

          const client = foreignClient(plugin.port);
          const { traceparent, b3 } = FOREIGN;
          const secret = { authorization: 'Bearer s3cr3t', 'x-call': 'foreign' };
          await call(
            client,
            'Get',
            { key: 'h' },
            { ...secret, traceparent: `00-${traceparent.traceId}-${traceparent.spanId}-01` },
          );
          await call(
            client,
            'Put',
            { key: 'f', value: Buffer.from('f') },
            { ...secret, b3: `${b3.traceId}-${b3.spanId}-1` },
          );
          await watch(client);
          client.close();
        } finally {
          plugin.stop();
        }
        const ended = await plugin.ended;
        assert.equal(ended.signal, 'SIGTERM', ended.stderr);
        const of = (service: string) =>
          receiver
            .spans()
            .filter((span) => span.resource['service.name'] === service && span.scope.name === GRPC_SCOPE);
        pluginSpans = of(pluginService);
        hostSpans = of(hostService);
      });

      test('host → plugin: each host call and its handling are one trace (b3 alone on the wire)', () => {
        assert.deepEqual(hostResults, { put: 'OK', get: 'OK host', watch: 'OK h/1,h/2' });
        assert.deepEqual(hostSpans.map((span) => [span.kind, span.name, stepOf(span)]).sort(), [
          [SpanKind.CLIENT, 'proto.KV/Get', 'host-get'],
          [SpanKind.CLIENT, 'proto.KV/Put', 'host-put'],
          [SpanKind.CLIENT, 'proto.KV/Watch', 'host-watch'],
        ]);
        for (const client of hostSpans) {
          assert.equal(client.parentSpanId, '');
          const handled = pluginSpans.filter((span) => span.traceId === client.traceId);
          assert.equal(handled.length, 1, `plugin spans in the trace of ${client.name}`);
          const [server] = handled as [ReceivedSpan];
          assert.equal(server.kind, SpanKind.SERVER);
          assert.equal(server.name, client.name);
          assert.equal(server.parentSpanId, client.spanId);
        }
      });

      test('a client without the agent: traceparent parents the server span', () => {
        const { traceId, spanId } = FOREIGN.traceparent;
        const spans = pluginSpans.filter((span) => span.traceId === traceId);
        assert.deepEqual(
          spans.map((span) => [span.kind, span.name, span.parentSpanId]),
          [[SpanKind.SERVER, 'proto.KV/Get', spanId]],
        );
      });

      test('a client without the agent: b3 parents the server span when b3 is configured', () => {
        const { traceId, spanId } = FOREIGN.b3;
        const spans = pluginSpans.filter((span) => span.traceId === traceId);
        assert.deepEqual(
          spans.map((span) => [span.kind, span.name, span.parentSpanId]),
          [[SpanKind.SERVER, 'proto.KV/Put', spanId]],
        );
      });

      test('a call with no trace context starts a trace of its own', () => {
        const others = pluginSpans.filter(
          (span) =>
            !hostSpans.some((client) => client.traceId === span.traceId) &&
            span.traceId !== FOREIGN.traceparent.traceId &&
            span.traceId !== FOREIGN.b3.traceId,
        );
        assert.deepEqual(
          others.map((span) => [span.kind, span.name, span.parentSpanId]),
          [[SpanKind.SERVER, 'proto.KV/Watch', '']],
        );
      });

      test('no metadata is captured unless configured (the plugin captures none)', () => {
        assert.equal(pluginSpans.length, 6);
        for (const span of pluginSpans) {
          const captured = Object.keys(span.attributes).filter(
            (key) => key.includes('metadata') || key.includes('header'),
          );
          assert.deepEqual(captured, [], `${span.name}: ${JSON.stringify(span.attributes)}`);
        }
      });
    });
  }
});
