/**
 * Calls that are not sampled (OTEL_TRACES_SAMPLER=parentbased_traceidratio, ratio 0.01, the setting
 * for production RPC traffic), on every runtime and preload flag: the sampling plugin
 * (test/fixtures/grpc/sampling.cjs) runs under the preload, and this process, with no agent, calls
 * it as a client in another language would. The plugin's handler answers what it saw through the
 * OpenTelemetry API and what its own nested call carried.
 *
 * - Every call is in the duration histograms, sampled or not: the same points, with the same
 *   attributes, as a run where every call is sampled (parentbased_always_on).
 * - Spans only for the sampled traces; the decision for a new trace is the SDK's
 *   TraceIdRatioBasedSampler's for its trace id, on the server (a call with no context) and on the
 *   client (a call made from the root context).
 * - An incoming traceparent is honoured: flags 01 gives recorded spans under it; flags 00 gives none,
 *   and the handler still sees the incoming trace id (a span id of its own, not recording), and its
 *   nested call sends that trace id with flags 00 and a new span id, with the tracestate carried on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ROOT_CONTEXT, SamplingDecision } from '@opentelemetry/api';
import { TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { attributeKey, GRPC_FIXTURES, GRPC_SCOPE, lastMetric } from './support/grpc.ts';
import {
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedSpan,
  SpanKind,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, type RunResult, runApp } from './support/runtimes.ts';

const RATIO = 0.01;
/** Calls with no trace context of each kind: at ratio 0.01, almost all of them are not sampled. */
const ROOT_CALLS = 40;
const SAMPLED = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', tracestate: 'vendor=a' };
const UNSAMPLED = { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', tracestate: 'vendor=b' };
const ID = /^[0-9a-f]{16}$/;
const ZERO_SPAN_ID = '0000000000000000';

interface Seen {
  traceparent: string | null;
  tracestate: string | null;
  active: { traceId: string; spanId: string; flags: number } | null;
  recording: boolean | null;
  leaf?: Seen;
}

interface PluginRun {
  readonly service: string;
  readonly sampled: Seen;
  readonly unsampled: Seen;
  readonly nested: Seen[];
  readonly detached: Seen[];
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
}

// biome-ignore lint/suspicious/noExplicitAny: the client class loadPackageDefinition makes is untyped.
type KvClient = any;

function get(client: KvClient, key: string, headers: Record<string, string> = {}): Promise<Seen> {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  return new Promise((resolve, reject) =>
    client.Get({ key }, metadata, (error: Error | null, response: { value: Buffer }) =>
      error ? reject(error) : resolve(JSON.parse(response.value.toString('utf8')) as Seen),
    ),
  );
}

/** Whether the SDK's ratio sampler samples a new trace with this id (what a root span gets). */
function ratioSamples(traceId: string): boolean {
  const { decision } = new TraceIdRatioBasedSampler(RATIO).shouldSample(ROOT_CONTEXT, traceId);
  return decision === SamplingDecision.RECORD_AND_SAMPLED;
}

function flagsOf(traceparent: string | null): { traceId: string; spanId: string; flags: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent ?? '');
  assert.ok(match, `traceparent ${traceparent}`);
  return { traceId: match[1] as string, spanId: match[2] as string, flags: match[3] as string };
}

let receiver: OtlpReceiver;
let runs = 0;

/** Runs the plugin with `sampler`, makes the calls, stops it; its telemetry has all arrived then. */
async function runPlugin(row: AgentRun, sampler: string, rootCalls: number): Promise<PluginRun> {
  const service = `sampling-${row.runtime}-${++runs}`;
  let stop = (): void => {};
  let stdout = '';
  let ended!: Promise<RunResult>;
  const port = await new Promise<number>((resolve, reject) => {
    ended = runApp({
      runtime: row.runtime,
      loader: row.loader,
      script: join(GRPC_FIXTURES, row.format === 'esm' ? 'sampling-plugin.mjs' : 'sampling-plugin.cjs'),
      env: {
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_SAMPLER: sampler,
        OTEL_TRACES_SAMPLER_ARG: String(RATIO),
      },
      timeoutMs: 60_000,
      onSpawn: (child) => {
        stop = () => child.kill('SIGTERM');
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const handshake = /^1\|1\|tcp\|127\.0\.0\.1:(\d+)\|grpc\n/.exec(stdout);
          if (handshake) resolve(Number(handshake[1]));
        });
      },
    });
    ended.then((result) => reject(new Error(`the plugin ended before its handshake:\n${result.stderr}`)), reject);
  });
  const definition = protoLoader.loadSync(['kv.proto'], { includeDirs: [GRPC_FIXTURES] });
  const proto = grpc.loadPackageDefinition(definition).proto as Record<string, KvClient>;
  const client = new proto.KV(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  let calls: Omit<PluginRun, 'service' | 'spans' | 'metrics'>;
  try {
    const traceparent = (parent: typeof SAMPLED, flags: string) => `00-${parent.traceId}-${parent.spanId}-${flags}`;
    calls = {
      sampled: await get(client, 'nested', {
        traceparent: traceparent(SAMPLED, '01'),
        tracestate: SAMPLED.tracestate,
      }),
      unsampled: await get(client, 'nested', {
        traceparent: traceparent(UNSAMPLED, '00'),
        tracestate: UNSAMPLED.tracestate,
      }),
      nested: await Promise.all(Array.from({ length: rootCalls }, () => get(client, 'nested'))),
      detached: await Promise.all(Array.from({ length: rootCalls }, () => get(client, 'detached'))),
    };
    // The plugin closes its own client first: Deno aborts in nghttp2 when one is open at exit.
    // Its trace context is not sampled, so that it adds no span under either sampler.
    await get(client, 'close', { traceparent: traceparent(UNSAMPLED, '00') });
  } finally {
    client.close();
    stop();
  }
  const result = await ended;
  assert.equal(result.signal, 'SIGTERM', result.stderr);
  assert.equal(result.stderr, '', 'the agent has nothing to say');
  const ours = ({ resource, scope }: { resource: Record<string, unknown>; scope: { name: string } }) =>
    resource['service.name'] === service && scope.name === GRPC_SCOPE;
  return { service, ...calls, spans: receiver.spans().filter(ours), metrics: receiver.metrics().filter(ours) };
}

/** The duration histograms' points, as attribute key → count: every call, sampled or not. */
function durationPoints(run: PluginRun): Record<string, Record<string, number>> {
  const points: Record<string, Record<string, number>> = {};
  for (const name of ['rpc.server.duration', 'rpc.client.duration']) {
    const metric = lastMetric(run.metrics, name);
    points[name] = Object.fromEntries(
      metric.dataPoints.map((point) => [attributeKey(point.attributes), Number(point.count)]),
    );
  }
  return points;
}

before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

describe('unsampled gRPC calls (parentbased_traceidratio 0.01)', { concurrency: 2 }, () => {
  for (const row of AGENT_RUNS) {
    describe(`${row.runtime} ${row.loader.name} ${row.format}`, () => {
      let run: PluginRun;
      let everyCall: PluginRun;
      before(async () => {
        run = await runPlugin(row, 'parentbased_traceidratio', ROOT_CALLS);
        everyCall = await runPlugin(row, 'parentbased_always_on', 2);
      });

      test('flags 01 in: recorded spans under the incoming parent, flags 01 on the nested call', () => {
        const { sampled } = run;
        assert.equal(sampled.recording, true);
        assert.equal(sampled.active?.traceId, SAMPLED.traceId);
        assert.equal(sampled.active?.flags, 1);
        const out = flagsOf(sampled.leaf?.traceparent ?? null);
        assert.deepEqual([out.traceId, out.flags], [SAMPLED.traceId, '01']);
        assert.equal(sampled.leaf?.tracestate, SAMPLED.tracestate);
        const spans = run.spans.filter((span) => span.traceId === SAMPLED.traceId);
        const server = spans.find((span) => span.kind === SpanKind.SERVER && span.parentSpanId === SAMPLED.spanId);
        const client = spans.find((span) => span.kind === SpanKind.CLIENT);
        const leaf = spans.find((span) => span.kind === SpanKind.SERVER && span !== server);
        assert.ok(server && client && leaf, `spans of the sampled trace: ${spans.length}`);
        assert.equal(spans.length, 3);
        assert.equal(server.spanId, sampled.active?.spanId);
        assert.equal(client.parentSpanId, server.spanId);
        assert.equal(client.spanId, out.spanId);
        assert.equal(leaf.parentSpanId, client.spanId);
      });

      test('flags 00 in: no spans; the handler sees the trace id; the nested call sends it with flags 00', () => {
        const { unsampled } = run;
        assert.equal(unsampled.traceparent, `00-${UNSAMPLED.traceId}-${UNSAMPLED.spanId}-00`);
        assert.equal(unsampled.recording, false);
        assert.equal(unsampled.active?.traceId, UNSAMPLED.traceId);
        assert.equal(unsampled.active?.flags, 0);
        // The SDK's non-recording span has a span id of its own, from the id generator.
        assert.match(unsampled.active?.spanId ?? '', ID);
        assert.notEqual(unsampled.active?.spanId, UNSAMPLED.spanId);
        assert.notEqual(unsampled.active?.spanId, ZERO_SPAN_ID);
        const out = flagsOf(unsampled.leaf?.traceparent ?? null);
        assert.deepEqual([out.traceId, out.flags], [UNSAMPLED.traceId, '00']);
        assert.notEqual(out.spanId, UNSAMPLED.spanId);
        assert.notEqual(out.spanId, unsampled.active?.spanId);
        assert.notEqual(out.spanId, ZERO_SPAN_ID);
        assert.equal(unsampled.leaf?.tracestate, UNSAMPLED.tracestate);
        assert.deepEqual(unsampled.leaf?.active, {
          traceId: UNSAMPLED.traceId,
          spanId: unsampled.leaf?.active?.spanId,
          flags: 0,
        });
        assert.equal(unsampled.leaf?.recording, false);
        assert.deepEqual(
          run.spans.filter((span) => span.traceId === UNSAMPLED.traceId),
          [],
        );
      });

      test('new traces: the ratio sampler decides on the server and on the client, once, children follow', () => {
        let expectedSpans = 3; // the flags-01 trace
        for (const seen of run.nested) {
          // A call with no context: the server's span is the root, its nested call a child of it.
          const traceId = seen.active?.traceId ?? '';
          const sampled = ratioSamples(traceId);
          assert.equal(seen.traceparent, null);
          assert.equal(seen.recording, sampled);
          assert.equal(seen.active?.flags, sampled ? 1 : 0);
          const out = flagsOf(seen.leaf?.traceparent ?? null);
          assert.deepEqual([out.traceId, out.flags], [traceId, sampled ? '01' : '00']);
          assert.equal(seen.leaf?.recording, sampled);
          const spans = run.spans.filter((span) => span.traceId === traceId);
          assert.equal(spans.length, sampled ? 3 : 0, `spans of trace ${traceId}`);
          expectedSpans += spans.length;
        }
        for (const seen of run.detached) {
          // The nested call is made from the root context: the client's span is a root of its own.
          const outer = seen.active?.traceId ?? '';
          const inner = flagsOf(seen.leaf?.traceparent ?? null);
          assert.notEqual(inner.traceId, outer);
          const sampled = ratioSamples(inner.traceId);
          assert.equal(inner.flags, sampled ? '01' : '00');
          assert.equal(seen.leaf?.active?.traceId, inner.traceId);
          assert.equal(seen.leaf?.recording, sampled);
          const spans = run.spans.filter((span) => span.traceId === inner.traceId);
          assert.deepEqual(
            spans.map((span) => span.kind).sort(),
            sampled ? [SpanKind.SERVER, SpanKind.CLIENT].sort() : [],
          );
          expectedSpans += spans.length + (ratioSamples(outer) ? 1 : 0);
        }
        assert.equal(run.spans.length, expectedSpans, 'no spans but those of sampled traces');
        assert.ok(run.spans.length < 3 + ROOT_CALLS * 2, `most new traces are not sampled (${run.spans.length} spans)`);
      });

      test('every call is measured: the same histogram points as when every call is sampled', () => {
        // Outer calls (2 with a traceparent, then the root ones) and one leaf call from each, then
        // the call that closes the plugin's own client.
        const outer = (rootCalls: number) => 2 + 2 * rootCalls;
        const points = durationPoints(run);
        const everyPoints = durationPoints(everyCall);
        assert.deepEqual(
          Object.keys(points['rpc.server.duration'] ?? {}),
          Object.keys(everyPoints['rpc.server.duration'] ?? {}),
        );
        assert.deepEqual(
          Object.keys(points['rpc.client.duration'] ?? {}),
          Object.keys(everyPoints['rpc.client.duration'] ?? {}),
        );
        assert.deepEqual(Object.values(points['rpc.server.duration'] ?? {}), [2 * outer(ROOT_CALLS) + 1]);
        assert.deepEqual(Object.values(points['rpc.client.duration'] ?? {}), [outer(ROOT_CALLS)]);
        assert.deepEqual(Object.values(everyPoints['rpc.server.duration'] ?? {}), [2 * outer(2) + 1]);
        assert.deepEqual(Object.values(everyPoints['rpc.client.duration'] ?? {}), [outer(2)]);
        // Every trace is sampled there but the one whose incoming traceparent says it is not.
        assert.equal(everyCall.spans.length, 3 * (outer(2) - 1));
      });
    });
  }
});
