/** One entry point for decoding an OTLP/HTTP export request body, whatever its signal and encoding. */
import { decodeLogsJson, decodeMetricsJson, decodeTracesJson } from './otlp-json.ts';
import { decodeLogsProtobuf, decodeMetricsProtobuf, decodeTracesProtobuf } from './otlp-protobuf.ts';
import type { DecodedRequest, Encoding, Signal } from './otlp-types.ts';

const DECODERS: Record<Signal, Record<Encoding, (body: Uint8Array) => DecodedRequest>> = {
  traces: { protobuf: decodeTracesProtobuf, json: decodeTracesJson },
  metrics: { protobuf: decodeMetricsProtobuf, json: decodeMetricsJson },
  logs: { protobuf: decodeLogsProtobuf, json: decodeLogsJson },
};

/** Decodes one export request body, or throws MalformedRequest saying why it cannot be. */
export function decodeExportRequest(signal: Signal, encoding: Encoding, body: Uint8Array): DecodedRequest {
  return DECODERS[signal][encoding](body);
}
