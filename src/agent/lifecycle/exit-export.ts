/**
 * The last chance to send telemetry when the process ends without returning to the event loop
 * (`process.exit()`, an app's own signal handler that exits, an uncaught exception): nothing
 * asynchronous runs any more, so the pending records are serialized here and POSTed by a worker
 * thread while this thread waits on Atomics.wait, bounded by RPCPLUGIN_SHUTDOWN_TIMEOUT.
 * Works the same on Node, Bun and Deno (each runs worker_threads and Atomics.wait there).
 */

import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { timerDelay } from '../runtime/timer-delay.ts';

export interface ExitRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly gzip: boolean;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** What the body holds, for the loss message: "3 spans". */
  readonly contents: string;
}

/** Why a request was not delivered; undefined when it was. */
export type ExitOutcome = string | undefined;

// The worker's report per request, in a shared Int32Array: 0 while in flight, the HTTP status when
// answered, or one of these when the request failed before an answer.
const NETWORK_ERRORS: Readonly<Record<string, number>> = { ECONNREFUSED: -1, ECONNRESET: -2, EPIPE: -2 };
const OTHER_NETWORK_ERROR = -3;
const NETWORK_ERROR_TEXT: Readonly<Record<number, string>> = {
  [-1]: 'connection refused',
  [-2]: 'connection reset',
  [OTHER_NETWORK_ERROR]: 'network error',
};

// Plain CommonJS for `eval: true`. Slot 0 counts finished requests; slot 1 + i is request i's outcome.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const report = new Int32Array(workerData.report);
const codes = workerData.networkErrors;
workerData.requests.forEach((request, index) => {
  const url = new URL(request.url);
  const transport = require(url.protocol === 'https:' ? 'node:https' : 'node:http');
  let finished = false;
  const finish = (outcome) => {
    if (finished) return;
    finished = true;
    Atomics.store(report, 1 + index, outcome);
    Atomics.add(report, 0, 1);
    Atomics.notify(report, 0);
  };
  const fail = (error) => finish(codes[error && error.code] || ${OTHER_NETWORK_ERROR});
  const outgoing = transport.request(url, { method: 'POST', headers: request.headers, ...request.tls }, (response) => {
    response.resume();
    response.on('end', () => finish(response.statusCode || ${OTHER_NETWORK_ERROR}));
    response.on('error', fail);
  });
  outgoing.on('error', fail);
  outgoing.end(Buffer.from(request.body));
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
    const prepared = requests.map((request) => ({
      url: request.url,
      headers: request.gzip ? { ...request.headers, 'Content-Encoding': 'gzip' } : request.headers,
      body: request.gzip ? gzipSync(request.body) : request.body,
      tls: request.tls,
    }));
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

function describeOutcome(outcome: number, notAnswered: string): ExitOutcome {
  if (outcome >= 200 && outcome <= 299) return undefined;
  if (outcome === 0) return notAnswered;
  if (outcome > 0) return `HTTP ${outcome}`;
  return NETWORK_ERROR_TEXT[outcome] ?? NETWORK_ERROR_TEXT[OTHER_NETWORK_ERROR];
}
