/**
 * The bodies of OTLP/HTTP answers, in the encoding of the request
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response): an Export*ServiceResponse, with
 * partial_success when items were rejected, and a google.rpc.Status for a refused request.
 */
import type { Encoding, Signal } from './otlp-types.ts';

const REJECTED_FIELD: Record<Signal, string> = {
  traces: 'rejectedSpans',
  metrics: 'rejectedDataPoints',
  logs: 'rejectedLogRecords',
};

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function lengthDelimited(field: number, payload: Uint8Array | number[]): number[] {
  return [(field << 3) | 2, ...varint(payload.length), ...payload];
}

export interface Rejection {
  rejected: number;
  message: string;
}

/**
 * Export*ServiceResponse { partial_success = 1 }, Export*PartialSuccess { rejected_* = 1 (int64),
 * error_message = 2 }: the same field numbers for the three signals. Nothing rejected: an empty message.
 */
export function exportResponse(signal: Signal, encoding: Encoding, rejection: Rejection): Uint8Array {
  const { rejected, message } = rejection;
  if (encoding === 'json') {
    if (rejected === 0 && message === '') return new TextEncoder().encode('{}');
    return new TextEncoder().encode(
      JSON.stringify({ partialSuccess: { [REJECTED_FIELD[signal]]: String(rejected), errorMessage: message } }),
    );
  }
  if (rejected === 0 && message === '') return new Uint8Array(0);
  const partial = [
    ...(rejected === 0 ? [] : [(1 << 3) | 0, ...varint(rejected)]),
    ...(message === '' ? [] : lengthDelimited(2, new TextEncoder().encode(message))),
  ];
  return Uint8Array.from(lengthDelimited(1, partial));
}

/** google.rpc.Status { code = 1, message = 2 }; gRPC codes: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED. */
export function statusBody(encoding: Encoding, code: number, message: string): Uint8Array {
  if (encoding === 'json') return new TextEncoder().encode(JSON.stringify({ code, message }));
  return Uint8Array.from([(1 << 3) | 0, ...varint(code), ...lengthDelimited(2, new TextEncoder().encode(message))]);
}
