// A collector stand-in for the end-to-end benchmarks: takes every OTLP/HTTP export, answers 200 at
// once, and counts what it got per signal (traces, metrics, logs), with the number of spans and how
// many of them are gRPC spans. That count is the proof that a mode exported, and that it traced the
// gRPC calls at all. Protobuf bodies (gzip or not) are walked just enough to find the spans' names;
// a JSON body is counted as a request only.
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** Calls `onField(number, wireType, value)` for each field of one protobuf message; values of length-delimited fields are subarrays. */
function fields(bytes, onField) {
  let offset = 0;
  const varint = () => {
    let value = 0;
    let shift = 1;
    for (;;) {
      const byte = bytes[offset++];
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
      shift *= 128;
    }
  };
  while (offset < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    if (wireType === 0) onField(number, wireType, varint());
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else if (wireType === 2) {
      const length = varint();
      onField(number, wireType, bytes.subarray(offset, offset + length));
      offset += length;
    } else throw new Error(`unexpected protobuf wire type ${wireType}`);
  }
}

/** The names of the spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2) → name (5). */
function spanNames(body) {
  const names = [];
  fields(body, (resourceField, _, resourceSpans) => {
    if (resourceField !== 1) return;
    fields(resourceSpans, (scopeField, __, scopeSpans) => {
      if (scopeField !== 2) return;
      fields(scopeSpans, (spanField, ___, span) => {
        if (spanField !== 2) return;
        fields(span, (field, ____, name) => {
          if (field === 5) names.push(Buffer.from(name).toString('utf8'));
        });
      });
    });
  });
  return names;
}

/** Our gRPC spans are named `kv.KV/Get`, contrib's `grpc.kv.KV/Get`: both end in the method. */
const isGrpcSpan = (name) => /KV\/(Get|Watch|Put)$/.test(name);

export function emptyCounts() {
  return { traces: 0, spans: 0, grpcSpans: 0, metrics: 0, logs: 0, bytes: 0 };
}

export async function startCountingReceiver() {
  const counts = emptyCounts();
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      counts.bytes += raw.length;
      const signal = request.url?.split('?')[0].split('/').at(-1);
      if (signal === 'traces') {
        counts.traces++;
        if (!String(request.headers['content-type']).includes('json')) {
          try {
            const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
            const names = spanNames(body);
            counts.spans += names.length;
            counts.grpcSpans += names.filter(isGrpcSpan).length;
          } catch {
            // Counted as a request; a body we cannot walk does not stop the benchmark.
          }
        }
      } else if (signal === 'metrics') counts.metrics++;
      else if (signal === 'logs') counts.logs++;
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, counts, close: () => server.close() };
}
