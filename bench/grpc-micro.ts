/**
 * The instrumentation's own work per call, without network or grpc-js: the agent's patches applied
 * to a fake Client (whose unary request answers at once) and a fake Server (whose handler is called
 * with a fake call), timed per call. Bundled and run by bench/grpc-micro.mjs.
 *
 * MODE=noop: the OpenTelemetry API without an SDK (only the agent's own code runs);
 * MODE=sdk: the SDK's tracer and meter providers, with a span processor that drops what ends and a
 * metric reader that is never read (no export, no serialization).
 * With MODE=sdk, SAMPLER and SAMPLER_ARG are OTEL_TRACES_SAMPLER and its argument (the SDK's default,
 * parentbased_always_on, if unset), PARENT_FLAGS the flags of the server calls' traceparent (01),
 * CALLS the calls timed per side (300000), and DECIDE=0 has the calls start their spans through the SDK's tracer without deciding first (the
 * path before src/agent/sdk/span-decisions.ts).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { GrpcTelemetry } from '../src/agent/grpc/call-telemetry.ts';
import { type ClientPrototype, instrumentClient } from '../src/agent/grpc/client.ts';
import type { MetadataClass } from '../src/agent/grpc/metadata.ts';
import { conventionsOf } from '../src/agent/grpc/method.ts';
import { instrumentServer, type ServerPrototype } from '../src/agent/grpc/server.ts';
import { HistogramRegistry } from '../src/agent/pipelines/histogram-registry.ts';
import { buildSampling, spanDecisions } from '../src/agent/sdk/sampler.ts';
import type { Config } from '../src/env/index.ts';

const { Metadata } = createRequire(`${process.cwd()}/`)('@grpc/grpc-js') as { Metadata: MetadataClass };
const mode = process.env.MODE === 'noop' ? 'noop' : 'sdk';
const CALLS = Number(process.env.CALLS ?? 300_000);

class UnreadReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}
const dropping: SpanProcessor = {
  onStart() {},
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(
  new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
);
const samplerName = (process.env.SAMPLER ?? 'parentbased_always_on') as Config['sampler']['name'];
const sampling = buildSampling({ name: samplerName, ratio: Number(process.env.SAMPLER_ARG ?? 1) });
if (mode === 'sdk') {
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [dropping], ...sampling }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new UnreadReader()] }));
}
const conventions = conventionsOf('old');
// The agent's RPC histograms (src/agent/pipelines/histogram-registry.ts), with one reader's worth of accumulation, never collected.
const histograms = new HistogramRegistry();
if (mode === 'sdk') histograms.producer();
const tracer = trace.getTracer('micro');
const decisions = spanDecisions();
const telemetry = new GrpcTelemetry(
  tracer,
  process.env.DECIDE !== '0' && decisions?.decidesFor(tracer) ? decisions : undefined,
  metrics.getMeter('micro'),
  histograms.enabled ? (name, options) => histograms.create({ name: 'micro' }, name, options) : undefined,
  conventions,
  undefined,
  true,
);

type Answer = (error: unknown, value: unknown) => void;
const clientPrototype = {
  // The agent calls it with every argument: path, codecs, argument, metadata, options, callback.
  makeUnaryRequest(...args: unknown[]) {
    (args[6] as Answer)(null, {});
    return {};
  },
  makeClientStreamRequest() {},
  makeServerStreamRequest() {},
  makeBidiStreamRequest() {},
  getChannel: () => ({ getTarget: () => 'dns:127.0.0.1:50051' }),
};
instrumentClient(clientPrototype as unknown as ClientPrototype, Metadata, telemetry);
const client = Object.create(clientPrototype) as typeof clientPrototype;

class FakeServerCall {
  sendStatus(_status: unknown): void {}
  getHost(): string {
    return '127.0.0.1:50051';
  }
}
const registered: { handler?: (call: unknown, respond: Answer) => void } = {};
const serverPrototype = {
  register(_path: unknown, handler: unknown) {
    registered.handler = handler as typeof registered.handler;
    return true;
  },
};
instrumentServer(serverPrototype as unknown as ServerPrototype, telemetry);
serverPrototype.register('/proto.KV/Get', (_call: unknown, respond: Answer) => respond(null, {}));
const handler = registered.handler as (call: unknown, respond: Answer) => void;
const traceparent = `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-${process.env.PARENT_FLAGS ?? '01'}`;

function clientCalls(): void {
  const done = () => {};
  // As a service client's `client.Get(request, callback)` calls it.
  for (let i = 0; i < CALLS; i++) client.makeUnaryRequest('/proto.KV/Get', null, null, {}, done);
}

/** Builds a fake call per iteration (as grpc-js would); `fakesOnly` times that part alone. */
function serverCalls(fakesOnly: boolean): void {
  for (let i = 0; i < CALLS; i++) {
    const inner = new FakeServerCall();
    const surface = Object.assign(new EventEmitter(), { call: inner, metadata: new Metadata() });
    surface.metadata.set('traceparent', traceparent);
    if (fakesOnly) continue;
    handler(surface, () => inner.sendStatus({ code: 0, details: 'OK' }));
  }
}

function time(run: () => void): number {
  run();
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / CALLS;
}

const fakes = time(() => serverCalls(true));
const settings =
  mode === 'sdk' ? ` (${samplerName} ${process.env.SAMPLER_ARG ?? ''}, decide ${process.env.DECIDE !== '0'})` : '';
console.log(`${mode}${settings}: client ${time(clientCalls).toFixed(0)} ns/call`);
console.log(
  `${mode}${settings}: server ${(time(() => serverCalls(false)) - fakes).toFixed(0)} ns/call (building the fake call excluded)`,
);
