/**
 * The names the stable HTTP semantic conventions (v1.45.0; stable since v1.23.0) give to client
 * telemetry, copied rather than imported like the gRPC ones (src/agent/grpc/semconv.ts). The
 * agent follows only the stable HTTP conventions: it has no older users to keep.
 */

export const ATTR = {
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  statusCode: 'http.response.status_code',
  urlFull: 'url.full',
  urlScheme: 'url.scheme',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  requestHeader: 'http.request.header.',
  responseHeader: 'http.response.header.',
} as const;

export const CLIENT_DURATION = 'http.client.request.duration';

/** The conventions' advised boundaries for http.client.request.duration, in seconds. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** RFC 9110's methods and PATCH (RFC 5789): the conventions' default "known" methods. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/** A method as the conventions record it: a known one as sent, anything else `_OTHER`. */
export interface MethodName {
  /** http.request.method */
  readonly value: string;
  /** The span name: the method, or `HTTP` for one the conventions do not know. */
  readonly spanName: string;
  /** http.request.method_original, for a method recorded as `_OTHER`. */
  readonly original: string | undefined;
}

const methodNames = new Map<string, MethodName>();
const MAX_METHOD_NAMES = 64;

export function methodName(method: string): MethodName {
  let name = methodNames.get(method);
  if (name !== undefined) return name;
  // Methods are case-sensitive: `get` is not GET (the conventions say so), and is `_OTHER`.
  name = KNOWN_METHODS.has(method)
    ? { value: method, spanName: method, original: undefined }
    : { value: '_OTHER', spanName: 'HTTP', original: method };
  if (methodNames.size < MAX_METHOD_NAMES) methodNames.set(method, name);
  return name;
}

/** A client span is an error for a 4xx or 5xx answer; error.type is then the status code as text. */
export function isErrorStatus(status: number): boolean {
  return status >= 400;
}

/**
 * error.type of a request that got no answer: the error's code when it has one (`ECONNREFUSED`,
 * also when fetch wraps it in a TypeError's `cause`), else its name (`AbortError`, `TimeoutError`),
 * else the conventions' fallback `_OTHER`. All of these are few, as the metric's attributes must be.
 */
export function errorType(error: unknown): string {
  const code = codeOf(error) ?? codeOf((error as { cause?: unknown } | null)?.cause);
  if (code !== undefined) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? name : '_OTHER';
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}
