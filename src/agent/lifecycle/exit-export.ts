/**
 * The last chance to send telemetry when the process ends without returning to the event loop
 * (`process.exit()`, an app's own signal handler that exits): in the `exit` event nothing
 * asynchronous runs any more, so the pending records are serialized here and POSTed by a worker
 * thread while this thread waits on Atomics.wait, bounded by RPCPLUGIN_SHUTDOWN_TIMEOUT.
 * Works the same on Node, Bun and Deno (each runs worker_threads and Atomics.wait in `exit`).
 */

import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';

export interface ExitRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly gzip: boolean;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

// Plain CommonJS for `eval: true`; it reports on a shared counter: one per finished request.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const done = new Int32Array(workerData.done);
for (const request of workerData.requests) {
  const url = new URL(request.url);
  const transport = require(url.protocol === 'https:' ? 'node:https' : 'node:http');
  const finish = () => { Atomics.add(done, 0, 1); Atomics.notify(done, 0); };
  const outgoing = transport.request(url, { method: 'POST', headers: request.headers, ...request.tls }, (response) => {
    response.resume();
    response.on('end', finish);
    response.on('error', finish);
  });
  outgoing.on('error', finish);
  outgoing.end(Buffer.from(request.body));
}
`;

/** Sends `requests` before returning, or gives up after `timeoutMs`. Never throws. */
export function exportSynchronously(requests: readonly ExitRequest[], timeoutMs: number): boolean {
  if (requests.length === 0) return true;
  try {
    const done = new Int32Array(new SharedArrayBuffer(4));
    const prepared = requests.map((request) => ({
      url: request.url,
      headers: request.gzip ? { ...request.headers, 'Content-Encoding': 'gzip' } : request.headers,
      body: request.gzip ? gzipSync(request.body) : request.body,
      tls: request.tls,
    }));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { done: done.buffer, requests: prepared } });
    worker.unref();
    const deadline = Date.now() + timeoutMs;
    for (let finished = 0; finished < requests.length; finished = Atomics.load(done, 0)) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(done, 0, finished, left) === 'timed-out') return false;
    }
    return true;
  } catch {
    return false;
  }
}
