// W3C Trace Context propagation per call, upstream's W3CTraceContextPropagator (@opentelemetry/core)
// against ours (src/agent/propagation/trace-context.ts): bundles both with esbuild into a temporary
// file and runs it on this Node. Each operation is what a gRPC call does: inject a span context into
// a fresh plain-object carrier (the client), then extract it from that carrier (the server).
//
//   node bench/trace-context.mjs          # or node_modules/node24/bin/node (node22, node26) for another Node
import { execFileSync } from 'node:child_process';
import { ROOT, withBundle } from './bundle.mjs';

const BENCH = `
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import { TraceContextPropagator } from './src/agent/propagation/trace-context.ts';

const ROUNDS = 7;
const OPS = 200_000;
const base = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
const contexts = {
  'no tracestate': trace.setSpanContext(ROOT_CONTEXT, base),
  'tracestate (2 members)': trace.setSpanContext(ROOT_CONTEXT, {
    ...base,
    traceState: new TraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
  }),
};
const propagators = { upstream: new W3CTraceContextPropagator(), ours: new TraceContextPropagator() };

let sink = 0;
function time(propagator, context, op) {
  const injected = {};
  propagator.inject(context, injected, defaultTextMapSetter);
  const start = process.hrtime.bigint();
  if (op === 'inject') {
    for (let i = 0; i < OPS; i++) {
      const carrier = {};
      propagator.inject(context, carrier, defaultTextMapSetter);
      sink += carrier.traceparent.length;
    }
  } else if (op === 'extract') {
    for (let i = 0; i < OPS; i++) {
      const extracted = propagator.extract(ROOT_CONTEXT, injected, defaultTextMapGetter);
      sink += trace.getSpanContext(extracted).traceFlags;
    }
  } else {
    for (let i = 0; i < OPS; i++) {
      const carrier = {};
      propagator.inject(context, carrier, defaultTextMapSetter);
      const extracted = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
      sink += trace.getSpanContext(extracted).traceFlags;
    }
  }
  return Number(process.hrtime.bigint() - start) / 1000 / OPS;
}

const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
console.log('node ' + process.version + ': µs per operation, median of ' + ROUNDS + ' rounds of ' + OPS);
console.log('context                  operation        upstream      ours   ratio');
for (const [name, context] of Object.entries(contexts)) {
  for (const op of ['inject', 'extract', 'inject+extract']) {
    const results = { upstream: [], ours: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order, so that a change in the machine's speed falls on both alike.
      const order = round % 2 === 0 ? ['upstream', 'ours'] : ['ours', 'upstream'];
      for (const which of order) results[which].push(time(propagators[which], context, op));
    }
    const upstream = median(results.upstream);
    const ours = median(results.ours);
    console.log(
      name.padEnd(24) + ' ' + op.padEnd(15) + ' ' + upstream.toFixed(3).padStart(9) + ' ' +
        ours.toFixed(3).padStart(9) + ' ' + (ours / upstream).toFixed(2).padStart(7),
    );
  }
}
if (sink === 0) console.log('');
`;

await withBundle({ contents: BENCH, sourcefile: 'bench/trace-context.bench.ts' }, (outfile) => {
  process.stdout.write(execFileSync(process.execPath, [outfile], { cwd: ROOT }));
});
