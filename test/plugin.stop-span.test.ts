/**
 * The plugin's end as a span, on every AGENT_RUNS row: a grpc-js plugin (test/fixtures/plugin/stop-*)
 * runs under the built preload with TRACEPARENT handed down, handshakes, and ends by the host's
 * plugin.GRPCController/Shutdown (called from here, as a go-plugin host does), by SIGTERM, by
 * process.exit(3), or by its event loop emptying. A real OTLP receiver decodes `rpcplugin.plugin.stop`:
 * a child of the host's context, like the start span, saying how the plugin ended. See docs/plugin.md.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type OtlpReceiver, type ReceivedSpan, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

const STOP_SPAN = 'rpcplugin.plugin.stop';
const SHUTDOWN_PATH = '/plugin.GRPCController/Shutdown';

type End = 'shutdown' | 'signal' | 'exit' | 'natural';

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

/** What the host does once the plugin has handshaken on `port`. */
function hostAction(end: End, child: { kill(signal: NodeJS.Signals): boolean }, port: string): void {
  if (end === 'signal') {
    child.kill('SIGTERM');
    return;
  }
  if (end !== 'shutdown') return;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  client.makeUnaryRequest(
    SHUTDOWN_PATH,
    (value: Buffer) => value,
    (value: Buffer) => value,
    Buffer.alloc(0),
    // The plugin exits right after answering: the answer may or may not arrive; either is fine.
    () => client.close(),
  );
}

interface Ended {
  readonly result: RunResult;
  readonly spans: ReceivedSpan[];
  readonly traceId: string;
  readonly parentSpanId: string;
}

async function runUntilEnd(run: AgentRun, end: End): Promise<Ended> {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  let pid: number | undefined;
  const result = await runApp({
    runtime: run.runtime,
    loader: run.loader,
    script: fixture(`plugin/stop-app.${run.format === 'cjs' ? 'cjs' : 'mjs'}`),
    onSpawn: (child) => {
      pid = child.pid;
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const before = stdout;
        stdout += chunk.toString('utf8');
        const port = /^1\|1\|tcp\|127\.0\.0\.1:(\d+)\|grpc\n/.exec(stdout)?.[1];
        if (port !== undefined && !/\n/.test(before)) hostAction(end, child, port);
      });
    },
    env: {
      FIXTURE_END: end,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      TRACEPARENT: `00-${traceId}-${parentSpanId}-01`,
      PLUGIN_PROTOCOL_VERSIONS: '1',
      PLUGIN_MIN_PORT: '10000',
      PLUGIN_MAX_PORT: '25000',
    },
  });
  const ours = (span: ReceivedSpan) => span.resource['process.pid'] === pid;
  const spans = await receiver
    .waitFor((r) => r.spans().some((span) => ours(span) && span.name === STOP_SPAN), { timeoutMs: 5_000 })
    .then(
      () => receiver.spans().filter(ours),
      () => receiver.spans().filter(ours),
    );
  return { result, spans, traceId, parentSpanId };
}

function explain(ended: Ended): string {
  const { result, spans } = ended;
  return `${result.command}\nexit ${result.exitCode} signal ${result.signal}\nstderr:\n${result.stderr}\nspans: ${spans.map((span) => span.name).join(', ')}`;
}

const CASES: readonly (readonly [End, string, Record<string, unknown>, number | null, NodeJS.Signals | null])[] = [
  [
    'shutdown',
    'the host’s Shutdown call, then process.exit(0)',
    { 'rpcplugin.plugin.stop.reason': 'shutdown_rpc', 'process.exit.code': 0 },
    0,
    null,
  ],
  [
    'signal',
    'SIGTERM',
    { 'rpcplugin.plugin.stop.reason': 'signal', 'rpcplugin.plugin.stop.signal': 'SIGTERM' },
    null,
    'SIGTERM',
  ],
  ['exit', 'process.exit(3)', { 'rpcplugin.plugin.stop.reason': 'exit', 'process.exit.code': 3 }, 3, null],
  [
    'natural',
    'an empty event loop with exitCode 4',
    { 'rpcplugin.plugin.stop.reason': 'natural', 'process.exit.code': 4 },
    4,
    null,
  ],
];

for (const run of AGENT_RUNS) {
  describe(`plugin stop span: ${run.runtime} ${run.loader.name} (${run.format})`, () => {
    for (const [end, title, attributes, exitCode, signal] of CASES) {
      test(`${title}: one ${STOP_SPAN}, a child of TRACEPARENT, saying so`, async () => {
        const ended = await runUntilEnd(run, end);
        assert.equal(ended.result.exitCode, exitCode, explain(ended));
        assert.equal(ended.result.signal, signal, explain(ended));
        assert.equal(ended.result.stderr, '', explain(ended));
        const stops = ended.spans.filter((span) => span.name === STOP_SPAN);
        assert.equal(stops.length, 1, explain(ended));
        const stop = stops[0] as ReceivedSpan;
        assert.equal(stop.traceId, ended.traceId);
        assert.equal(stop.parentSpanId, ended.parentSpanId);
        assert.equal(stop.kind, SpanKind.INTERNAL);
        assert.equal(stop.scope.name, 'rpcplugin-telemetry/plugin');
        assert.deepEqual(stop.attributes, { 'rpcplugin.role': 'plugin', ...attributes });
        assert.ok(stop.startTimeUnixNano <= stop.endTimeUnixNano);
        // The start span ended at the handshake, before the stop began.
        const start = ended.spans.find((span) => span.name === 'rpcplugin.plugin.start');
        assert.ok(start !== undefined && start.endTimeUnixNano <= stop.startTimeUnixNano, explain(ended));
        if (end === 'shutdown') {
          assert.ok(
            ended.spans.some((span) => span.name === SHUTDOWN_PATH.slice(1) && span.kind === SpanKind.SERVER),
            explain(ended),
          );
        }
      });
    }
  });
}
