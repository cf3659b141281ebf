// The app bench/collector-down.mjs measures: makes SPANS_COUNT spans through the OpenTelemetry API
// (the global tracer provider, which a preload registers; bare, they are no-ops), 1000 at a time with
// a turn of the event loop between, so that the preload's export timers run as they would in an app.
// Then it writes its only stdout line, {"rss": <process.memoryUsage().rss in bytes>}, and ends:
// SPANS_EXIT=natural lets the event loop run empty, SPANS_EXIT=exit calls process.exit(0).
import { trace } from '@opentelemetry/api';

const count = Number(process.env.SPANS_COUNT ?? 100);
const tracer = trace.getTracer('bench-spans-app');
const attributes = { 'rpc.system': 'grpc', 'rpc.service': 'proto.KV', 'rpc.method': 'Get' };

for (let made = 0; made < count; ) {
  const batch = Math.min(1000, count - made);
  for (let index = 0; index < batch; index++) {
    tracer.startSpan('proto.KV/Get', { attributes }).end();
  }
  made += batch;
  await new Promise((resolve) => setImmediate(resolve));
}

process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss })}\n`);
if (process.env.SPANS_EXIT === 'exit') process.exit(0);
