/**
 * The names the RPC semantic conventions give to gRPC telemetry, in the two versions we follow.
 * Copied rather than imported: most of the old ones live only in the "incubating" entry point of
 * @opentelemetry/semantic-conventions, which may change in any minor release (that package's own
 * advice). docs/grpc.md lists them with the version each comes from.
 */

/**
 * Semantic conventions v1.37.0: the last release of the experimental RPC conventions, which
 * instrumentations keep emitting by default (OTEL_SEMCONV_STABILITY_OPT_IN unset).
 */
export const OLD = {
  system: 'rpc.system',
  service: 'rpc.service',
  method: 'rpc.method',
  statusCode: 'rpc.grpc.status_code',
  requestMetadata: 'rpc.grpc.request.metadata.',
  serverDuration: 'rpc.server.duration',
  clientDuration: 'rpc.client.duration',
  serverRequestsPerRpc: 'rpc.server.requests_per_rpc',
  serverResponsesPerRpc: 'rpc.server.responses_per_rpc',
  clientRequestsPerRpc: 'rpc.client.requests_per_rpc',
  clientResponsesPerRpc: 'rpc.client.responses_per_rpc',
} as const;

/** Semantic conventions v1.45.0, where the RPC conventions are stable (OTEL_SEMCONV_STABILITY_OPT_IN=rpc). */
export const STABLE = {
  systemName: 'rpc.system.name',
  /** Fully qualified: `package.Service/Method`. */
  method: 'rpc.method',
  methodOriginal: 'rpc.method_original',
  statusCode: 'rpc.status_code',
  errorType: 'error.type',
  requestHeader: 'rpc.request.header.',
  serverDuration: 'rpc.server.call.duration',
  clientDuration: 'rpc.client.call.duration',
} as const;

export const SERVER_ADDRESS = 'server.address';
export const SERVER_PORT = 'server.port';
export const GRPC = 'grpc';
/** rpc.method (and rpc.service) of a method the server did not register: keeps metric cardinality bounded. */
export const OTHER = '_OTHER';

/** The active-call counters are ours: no version of the conventions defines one. */
export const ACTIVE_CALLS = { server: 'rpc.server.active_calls', client: 'rpc.client.active_calls' } as const;

/** rpc.server.call.duration and rpc.client.call.duration: the bucket boundaries the conventions advise (seconds). */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Messages per RPC: powers of two, as gRPC's own per-RPC message histograms use. */
export const MESSAGE_COUNT_BUCKETS = [
  1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
];

/** gRPC status codes by number (https://github.com/grpc/grpc/blob/master/doc/statuscodes.md). */
export const STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

/**
 * The status codes that make a server span an error. Every code but OK does for a client span; on the
 * server, the others describe the request, not a fault of the server (the gRPC "Span status" table,
 * the same in v1.37.0 and v1.45.0).
 */
const SERVER_ERRORS: ReadonlySet<number> = new Set([
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.UNIMPLEMENTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
  Status.DATA_LOSS,
]);

export function isErrorStatus(side: 'client' | 'server', code: number): boolean {
  return code !== Status.OK && (side === 'client' || SERVER_ERRORS.has(code));
}

/** The name of a status code; a code outside the table is spelled as its number. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? String(code);
}
