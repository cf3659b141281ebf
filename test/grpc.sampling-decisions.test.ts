/**
 * The sampling decision the gRPC instrumentation takes before it makes a span
 * (src/agent/sdk/span-decisions.ts), held to the SDK's: for each sampler OTEL_TRACES_SAMPLER can name,
 * for parents of every kind (none, invalid, remote and local, sampled and not, tracing suppressed)
 * and many trace ids, the span it gives is the one the SDK's tracer gives with the SDK's sampler
 * (upstream, unwrapped): recording or not, the same trace id, flags and trace state, a span id of its
 * own; the decision for a new trace is the SDK sampler's for the trace id the span got; and the
 * recorded ones reach the span processor as the SDK's do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Context,
  createTraceState,
  ROOT_CONTEXT,
  SamplingDecision,
  type Span,
  SpanKind,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { InMemorySpanExporter, RandomIdGenerator, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { buildSampler, buildSampling, spanDecisions } from '../src/agent/sdk/sampler.ts';
import { SpanDecisions } from '../src/agent/sdk/span-decisions.ts';
import { SAMPLERS } from '../src/env/variables.ts';

const RATIO = 0.5;
const TRACES = 200;
const NAME = 'proto.KV/Get';
const ATTRIBUTES = { 'rpc.system': 'grpc', 'rpc.service': 'proto.KV', 'rpc.method': 'Get' };
const ids = new RandomIdGenerator();

/** Parents of every kind, each with a trace id of its own (a new one per call). */
function parents(): Record<string, Context> {
  const state = createTraceState('vendor=a');
  const spanContext = (traceFlags: number, isRemote: boolean) => ({
    traceId: ids.generateTraceId(),
    spanId: ids.generateSpanId(),
    traceFlags,
    isRemote,
    traceState: state,
  });
  const local = (traceFlags: number) => trace.setSpanContext(ROOT_CONTEXT, spanContext(traceFlags, false));
  return {
    none: ROOT_CONTEXT,
    invalid: trace.setSpanContext(ROOT_CONTEXT, { traceId: 'x', spanId: 'y', traceFlags: 1 }),
    'remote sampled': trace.setSpanContext(ROOT_CONTEXT, spanContext(TraceFlags.SAMPLED, true)),
    'remote not sampled': trace.setSpanContext(ROOT_CONTEXT, spanContext(TraceFlags.NONE, true)),
    'local sampled': local(TraceFlags.SAMPLED),
    'local not sampled': local(TraceFlags.NONE),
    suppressed: suppressTracing(local(TraceFlags.SAMPLED)),
  };
}

/** What the gRPC instrumentation does (call-telemetry.ts, start): decide, then the lean span or the tracer's. */
function startDecided(decisions: SpanDecisions, tracer: Tracer, parent: Context): Span {
  if (decisions.decide(parent, NAME, SpanKind.SERVER, ATTRIBUTES)) return decisions.nonRecordingSpan();
  try {
    return tracer.startSpan(NAME, { kind: SpanKind.SERVER, attributes: { ...ATTRIBUTES } }, parent);
  } finally {
    decisions.clear();
  }
}

describe('sampling decided before the span, against the SDK', () => {
  for (const name of SAMPLERS) {
    const config = { name, ratio: RATIO };
    for (const asked of [false, true]) {
      // asked: the configured sampler's shouldSample is called (how a sampler other than the spec's is used).
      test(`${name}${asked ? ', through shouldSample' : ''}`, () => {
        const exporter = new InMemorySpanExporter();
        let decisions: SpanDecisions;
        let provider: TracerProvider;
        if (asked) {
          decisions = new SpanDecisions(buildSampler(config), new RandomIdGenerator());
          provider = new TracerProvider({
            sampler: decisions.providerSampler,
            idGenerator: decisions.providerIds,
            spanProcessors: [new SimpleSpanProcessor({ exporter })],
          });
        } else {
          provider = new TracerProvider({
            ...buildSampling(config),
            spanProcessors: [new SimpleSpanProcessor({ exporter })],
          });
          decisions = spanDecisions() as SpanDecisions;
        }
        const tracer = provider.getTracer('decisions');
        // Only the registered provider is probed.
        trace.disable();
        assert.equal(decisions.decidesFor(tracer), false);
        trace.setGlobalTracerProvider(provider);
        assert.equal(decisions.decidesFor(tracer), true);
        assert.equal(decisions.decidesFor(new TracerProvider().getTracer('another provider')), false);
        const upstream = new TracerProvider({ sampler: buildSampler(config) }).getTracer('upstream');
        const reference = buildSampler(config);
        const outcomes = new Set<string>();
        let recorded = 0;
        for (let round = 0; round < TRACES; round++) {
          for (const [kind, parent] of Object.entries(parents())) {
            const ours = startDecided(decisions, tracer, parent);
            const theirs = upstream.startSpan(NAME, { kind: SpanKind.SERVER, attributes: { ...ATTRIBUTES } }, parent);
            const context = ours.spanContext();
            const expected = theirs.spanContext();
            const what = `${name}, parent ${kind}`;
            if (kind === 'suppressed' || kind === 'none' || kind === 'invalid') {
              // A new trace id each (or none when suppressed): the decision is the SDK sampler's for ours.
              if (kind === 'suppressed') assert.deepEqual(context, expected, what);
              else {
                const { decision } = reference.shouldSample(parent, context.traceId, NAME, SpanKind.SERVER, {}, []);
                assert.equal(ours.isRecording(), decision !== SamplingDecision.NOT_RECORD, what);
                assert.equal(
                  context.traceFlags,
                  decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE,
                  what,
                );
                assert.equal(context.traceState, undefined, what);
              }
            } else {
              assert.equal(ours.isRecording(), theirs.isRecording(), what);
              assert.deepEqual(
                [context.traceId, context.traceFlags, context.traceState?.serialize()],
                [expected.traceId, expected.traceFlags, expected.traceState?.serialize()],
                what,
              );
            }
            if (kind !== 'suppressed') {
              assert.match(context.spanId, /^[0-9a-f]{16}$/, what);
              assert.notEqual(context.spanId, trace.getSpanContext(parent)?.spanId, what);
            }
            outcomes.add(`${ours.isRecording()} ${context.traceFlags}`);
            if (ours.isRecording()) recorded++;
            ours.end();
            theirs.end();
          }
        }
        // Every recorded span reached the processor, as the SDK's own; none that was not.
        const exported = exporter.getFinishedSpans();
        assert.equal(exported.length, recorded);
        for (const span of exported) assert.deepEqual(span.attributes, ATTRIBUTES);
        if (name.includes('traceidratio')) assert.equal(outcomes.size, 2, `${name}: both decisions seen`);
      });
    }
  }
});
