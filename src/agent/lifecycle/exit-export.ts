/**
 * The last chance to send telemetry when the process ends without returning to the event loop
 * (`process.exit()`, an app's own signal handler that exits, an uncaught exception): nothing
 * asynchronous runs any more, so the pending records are serialized here and sent by a worker
 * thread while this thread waits on Atomics.wait, bounded by RPCPLUGIN_SHUTDOWN_TIMEOUT.
 * OTLP/HTTP is a POST (node:http/https); OTLP/gRPC is one unary call over node:http2 with gRPC's
 * framing, which is all an Export is. Works the same on Node, Bun and Deno (each runs
 * worker_threads, node:http2's client in a worker, and Atomics.wait there; measured in
 * test/agent.exit-delivery.test.ts).
 */

import { Worker } from 'node:worker_threads';
import { lazyBuiltin } from '../runtime/lazy-builtin.ts';
import { timerDelay } from '../runtime/timer-delay.ts';

// Only a gzip-compressed export needs node:zlib (runtime/lazy-builtin.ts says why it waits).
const zlib = lazyBuiltin<typeof import('node:zlib')>('node:zlib');

export interface ExitRequest {
  /** OTLP/HTTP: the signal's URL. OTLP/gRPC: the collector's origin (scheme, host and port). */
  readonly url: string;
  /** OTLP/gRPC only: the service method, `/opentelemetry.proto.collector.trace.v1.TraceService/Export`. */
  readonly grpcMethod?: string;
  /** HTTP headers, or the gRPC call's metadata. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly gzip: boolean;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** What the body holds, for the loss message: "3 spans". */
  readonly contents: string;
}

/** Why a request was not delivered; undefined when it was. */
export type ExitOutcome = string | undefined;

// The worker's report per request, in a shared Int32Array: 0 while in flight; when answered, the
// HTTP status, or GRPC_STATUS_BASE + the gRPC status; one of these when it failed before an answer.
const NETWORK_ERRORS: Readonly<Record<string, number>> = { ECONNREFUSED: -1, ECONNRESET: -2, EPIPE: -2 };
const OTHER_NETWORK_ERROR = -3;
const NO_GRPC_STATUS = -4;
const GRPC_STATUS_BASE = 1000;
const NETWORK_ERROR_TEXT: Readonly<Record<number, string>> = {
  [-1]: 'connection refused',
  [-2]: 'connection reset',
  [OTHER_NETWORK_ERROR]: 'network error',
  [NO_GRPC_STATUS]: 'answered without a gRPC status',
};

// Plain CommonJS for `eval: true`. Slot 0 counts finished requests; slot 1 + i is request i's outcome.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const report = new Int32Array(workerData.report);
const codes = workerData.networkErrors;
const send = (request, finish, fail) => {
  const url = new URL(request.url);
  const transport = require(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const outgoing = transport.request(url, { method: 'POST', headers: request.headers, ...request.tls }, (response) => {
    response.resume();
    response.on('end', () => finish(response.statusCode || ${OTHER_NETWORK_ERROR}));
    response.on('error', fail);
  });
  outgoing.on('error', fail);
  outgoing.end(Buffer.from(request.body));
};
const call = (request, finish, fail) => {
  const session = require('node:http2').connect(request.url, request.tls);
  const end = (outcome) => {
    finish(outcome);
    session.close();
  };
  session.on('error', fail);
  const stream = session.request({ ...request.headers, ':method': 'POST', ':path': request.grpcMethod });
  let status;
  // A failure may come as headers only ("Trailers-Only"); a success ends with trailers.
  const readStatus = (headers) => {
    if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
  };
  stream.on('response', readStatus);
  stream.on('trailers', readStatus);
  stream.on('data', () => {});
  stream.on('end', () => end(status === undefined ? ${NO_GRPC_STATUS} : ${GRPC_STATUS_BASE} + status));
  stream.on('error', fail);
  stream.end(Buffer.from(request.body));
};
workerData.requests.forEach((request, index) => {
  let finished = false;
  const finish = (outcome) => {
    if (finished) return;
    finished = true;
    Atomics.store(report, 1 + index, outcome);
    Atomics.add(report, 0, 1);
    Atomics.notify(report, 0);
  };
  // node:http2 cancels the stream of a session that failed to connect, with the reason as its cause.
  const fail = (error) => finish(codes[error && error.code] || codes[error && error.cause && error.cause.code] || ${OTHER_NETWORK_ERROR});
  try {
    (request.grpcMethod === undefined ? send : call)(request, finish, fail);
  } catch (error) {
    fail(error);
  }
});
`;

/**
 * Sends `requests` before returning, waiting at most `timeoutMs` in all. Never throws. Returns one
 * outcome per request: undefined when the collector accepted it, else why it was not delivered.
 */
export function exportSynchronously(requests: readonly ExitRequest[], timeoutMs: number): ExitOutcome[] {
  if (requests.length === 0) return [];
  const notAnswered = `not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, ${timeoutMs} ms`;
  try {
    const report = new Int32Array(new SharedArrayBuffer(4 * (1 + requests.length)));
    const prepared = requests.map((request) =>
      request.grpcMethod === undefined ? httpRequest(request) : grpcRequest(request, timeoutMs),
    );
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { report: report.buffer, requests: prepared, networkErrors: NETWORK_ERRORS },
    });
    worker.unref();
    const deadline = Date.now() + timeoutMs;
    for (let finished = 0; finished < requests.length; finished = Atomics.load(report, 0)) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(report, 0, finished, timerDelay(left)) === 'timed-out') break;
    }
    return requests.map((_, index) => describeOutcome(Atomics.load(report, 1 + index), notAnswered));
  } catch (error) {
    const reason = `could not be sent: ${(error as Error).message}`;
    return requests.map(() => reason);
  }
}

function httpRequest(request: ExitRequest) {
  return {
    url: request.url,
    headers: request.gzip ? { ...request.headers, 'Content-Encoding': 'gzip' } : request.headers,
    body: request.gzip ? zlib().gzipSync(request.body) : request.body,
    tls: request.tls,
  };
}

/**
 * One unary gRPC call as HTTP/2 sees it (github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * the metadata as lowercase headers, and the message behind a 5-byte prefix (compressed flag, length).
 */
function grpcRequest(request: ExitRequest, timeoutMs: number) {
  const message = request.gzip ? zlib().gzipSync(request.body) : request.body;
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt8(request.gzip ? 1 : 0, 0);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  const metadata = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  return {
    url: request.url,
    grpcMethod: request.grpcMethod,
    headers: {
      ...metadata,
      'content-type': 'application/grpc',
      te: 'trailers',
      // At most 8 digits (the protocol's TimeoutValue).
      'grpc-timeout': `${Math.min(99_999_999, Math.max(1, Math.ceil(timeoutMs)))}m`,
      ...(request.gzip ? { 'grpc-encoding': 'gzip' } : {}),
    },
    body,
    tls: request.tls,
  };
}

function describeOutcome(outcome: number, notAnswered: string): ExitOutcome {
  if (outcome === GRPC_STATUS_BASE) return undefined;
  if (outcome > GRPC_STATUS_BASE) return `gRPC status ${outcome - GRPC_STATUS_BASE}`;
  if (outcome >= 200 && outcome <= 299) return undefined;
  if (outcome === 0) return notAnswered;
  if (outcome > 0) return `HTTP ${outcome}`;
  return NETWORK_ERROR_TEXT[outcome] ?? NETWORK_ERROR_TEXT[OTHER_NETWORK_ERROR];
}
