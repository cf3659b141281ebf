// The OTLP/protobuf encoding of spans, ours (src/agent/exporters/otlp-span-encoder.ts) against the one it
// replaces (@opentelemetry/otlp-transformer's ProtobufTraceSerializer), on this Node: bundles both
// with esbuild into a temporary file, as dist/agent.cjs has them, makes a batch of gRPC client and
// server spans with the SDK, checks that both encode it to the same bytes, and times each.
//
//   node bench/otlp-span-encoder.mjs [--spans 512] [--rounds 7] [--duration 1000]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { withBundle } from './bundle.mjs';

const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '512' },
    rounds: { type: 'string', default: '7' },
    duration: { type: 'string', default: '1000' },
  },
});
const SPANS = Number(values.spans);
const ROUNDS = Number(values.rounds);
const DURATION_MS = Number(values.duration);

const lib = await withBundle(
  {
    sourcefile: 'bench/otlp-span-encoder.bench.ts',
    contents: `
        export { ProtobufSpanEncoder } from './src/agent/exporters/otlp-span-encoder.ts';
        export { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
        export { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
        export { resourceFromAttributes } from '@opentelemetry/resources';
        export { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
      `,
  },
  (outfile) => createRequire(import.meta.url)(outfile),
);

// A batch as the agent exports it: one resource, the gRPC instrumentation's scope, client and
// server spans (a server span's parent is remote, from the caller's metadata).
const spans = [];
const resource = lib.resourceFromAttributes({
  'service.name': 'kv-plugin',
  'service.instance.id': '3f0e9d1c-6a5b-4c2e-9f7a-0b1c2d3e4f50',
  'telemetry.sdk.language': 'nodejs',
  'telemetry.sdk.name': 'opentelemetry',
  'telemetry.sdk.version': '2.12.0',
  'process.pid': 41235,
  'process.runtime.name': 'nodejs',
  'process.runtime.version': process.versions.node,
  'host.name': 'bench-host',
});
const tracerProvider = new lib.TracerProvider({
  resource,
  sampler: new lib.AlwaysOnSampler(),
  spanProcessors: [
    {
      onStart() {},
      onEnd: (span) => spans.push(span),
      forceFlush: async () => {},
      shutdown: async () => {},
    },
  ],
});
const tracer = tracerProvider.getTracer('rpcplugin-telemetry/grpc', '0.1.0');
const methods = ['Get', 'Put', 'Watch', 'Delete'];
for (let i = 0; spans.length < SPANS; i++) {
  const method = methods[i % methods.length];
  const attributes = {
    'rpc.system': 'grpc',
    'rpc.service': 'proto.KV',
    'rpc.method': method,
    'rpc.grpc.status_code': i % 50 === 0 ? 5 : 0,
    'server.address': '127.0.0.1',
    'server.port': 40000 + (i % 1000),
  };
  const client = tracer.startSpan(`proto.KV/${method}`, { kind: lib.SpanKind.CLIENT, attributes });
  const remote = lib.trace.setSpanContext(lib.ROOT_CONTEXT, { ...client.spanContext(), isRemote: true });
  const server = tracer.startSpan(`proto.KV/${method}`, { kind: lib.SpanKind.SERVER, attributes }, remote);
  if (i % 50 === 0) server.setStatus({ code: lib.SpanStatusCode.ERROR, message: 'key not found' });
  server.end();
  if (i % 50 === 0) client.setStatus({ code: lib.SpanStatusCode.ERROR, message: 'key not found' });
  client.end();
}
spans.length = SPANS;

const encoders = {
  upstream: (batch) => lib.ProtobufTraceSerializer.serializeRequest(batch),
  ours: (batch) => lib.ProtobufSpanEncoder.serializeRequest(batch),
};
const bodies = Object.values(encoders).map((encode) => Buffer.from(encode(spans)));
if (Buffer.compare(bodies[0], bodies[1]) !== 0) throw new Error('the two encoders disagree on this batch');

/** µs per span over one measurement of DURATION_MS (after as long a warm-up in the first round). */
function measure(encode) {
  let calls = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(DURATION_MS) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 10; i++) sink += encode(spans).length;
    calls += 10;
    now = process.hrtime.bigint();
  }
  if (sink === 0) throw new Error('nothing encoded');
  return Number(now - start) / 1000 / (calls * SPANS);
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
for (const encode of Object.values(encoders)) measure(encode); // warm-up
const results = Object.fromEntries(Object.keys(encoders).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order, so a change in the machine's speed falls on both alike.
  const names = round % 2 ? Object.keys(encoders).reverse() : Object.keys(encoders);
  for (const name of names) results[name].push(measure(encoders[name]));
}
const upstream = median(results.upstream);
const ours = median(results.ours);
console.log(
  `node ${process.versions.node}: ${SPANS} gRPC spans, ${bodies[0].length} bytes; ` +
    `upstream ${upstream.toFixed(3)} µs/span, ours ${ours.toFixed(3)} µs/span, ${(upstream / ours).toFixed(1)}x ` +
    `(medians of ${ROUNDS} rounds of ${DURATION_MS} ms)`,
);
