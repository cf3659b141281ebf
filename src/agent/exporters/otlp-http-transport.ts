/**
 * POSTing OTLP over HTTP without holding the process open. The exporter base's own transport keeps
 * its sockets and its retry timers referenced, so a dead collector keeps a finished app alive for
 * every export's full timeout and retries (measured here: a natural exit held ~40 s) before our
 * bounded shutdown even gets its turn. This one behaves the same on the wire (status handling,
 * Retry-After, 5 retries with jittered backoff, as in @opentelemetry/otlp-exporter-base 0.223's
 * retrying-transport.js and http-transport-utils.js) but unrefs its sockets and timers.
 */
import type { ClientRequest, Agent as HttpAgent, IncomingMessage } from 'node:http';
import http from 'node:http';
import { type ExportResponse, type IExporterTransport, OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { lazyBuiltin } from '../runtime/lazy-builtin.ts';
import { timerDelay } from '../runtime/timer-delay.ts';

// Only an https:// endpoint needs node:https, only gzip needs node:zlib: loaded when first used.
const https = lazyBuiltin<typeof import('node:https')>('node:https');
const zlib = lazyBuiltin<typeof import('node:zlib')>('node:zlib');

export interface HttpTransportOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /**
   * Aborted when the final flush at exit begins. From then on each export is tried once: retrying a
   * collector that refuses or fails would only spend the shutdown timeout. Waits already scheduled
   * end at once.
   */
  readonly finalFlush: AbortSignal;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRYABLE_NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
export const MAX_RETRIES = 5; // after the first try
const INITIAL_BACKOFF_MS = 1000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;
const MAX_BACKOFF_MS = 5000;

/**
 * The wait before retry number `retry` (0 for the first) when the collector sent no Retry-After:
 * 1 s growing 1.5 times per retry, moved by up to ±20 % (`random`, in [0, 1), picks where), at most 5 s.
 */
export function retryBackoffMs(retry: number, random: number): number {
  const nominal = INITIAL_BACKOFF_MS * BACKOFF_MULTIPLIER ** retry;
  const jitter = (random * 2 - 1) * JITTER;
  return Math.min(nominal * (1 + jitter), MAX_BACKOFF_MS);
}

export function createHttpTransport(options: HttpTransportOptions): IExporterTransport {
  const url = new URL(options.url);
  const secure = url.protocol === 'https:';
  const agent: HttpAgent = secure
    ? new (https().Agent)({ keepAlive: true, ...options.tls })
    : new http.Agent({ keepAlive: true });
  const headers = { ...options.headers, ...(options.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}) };
  const request = secure ? https().request : http.request;
  const { finalFlush } = options;
  let closed = false;
  /** At the final flush, and after shutdown, an export is tried once. */
  const noMoreRetries = () => finalFlush.aborted || closed;
  // One abort listener for the transport, not one per wait: exports that outlive their batch's
  // timeout keep retrying side by side, and more than ten listeners on one signal make Node warn.
  const pendingWaits = new Set<() => void>();
  const endPendingWaits = () => {
    for (const endWait of pendingWaits) endWait();
  };
  finalFlush.addEventListener('abort', endPendingWaits, { once: true });

  /** Resolves after `ms`, or at once when the final flush begins; the timer never holds the process open. */
  function waitBeforeRetry(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const endWait = () => {
        clearTimeout(timer);
        pendingWaits.delete(endWait);
        resolve();
      };
      const timer = setTimeout(endWait, timerDelay(ms));
      timer.unref?.();
      pendingWaits.add(endWait);
    });
  }

  function attempt(body: Uint8Array, timeoutMs: number): Promise<ExportResponse> {
    return new Promise((resolve) => {
      const outgoing: ClientRequest = request(url, { method: 'POST', headers, agent }, (response) =>
        readResponse(response, resolve),
      );
      // Neither the connection nor the wait for an answer may keep a finished app running.
      outgoing.on('socket', (socket) => socket.unref());
      const timer = setTimeout(() => {
        outgoing.destroy();
        resolve({ status: 'retryable', error: new Error('Request timed out') });
      }, timerDelay(timeoutMs));
      timer.unref?.();
      outgoing.on('close', () => clearTimeout(timer));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        resolve(
          RETRYABLE_NETWORK_ERRORS.has(error.code ?? '')
            ? { status: 'retryable', error }
            : { status: 'failure', error },
        );
      });
      outgoing.end(body);
    });
  }

  return {
    async send(data, timeoutMillis) {
      const body = options.compression === 'gzip' ? zlib().gzipSync(data) : data;
      const deadline = Date.now() + timeoutMillis;
      let result = await attempt(body, timeoutMillis);
      for (let retry = 0; result.status === 'retryable' && retry < MAX_RETRIES; retry += 1) {
        const wait = Math.max(result.retryInMillis ?? retryBackoffMs(retry, Math.random()), 0);
        if (noMoreRetries() || wait > deadline - Date.now()) break;
        await waitBeforeRetry(wait);
        if (noMoreRetries()) break;
        result = await attempt(body, deadline - Date.now());
      }
      return result;
    },
    shutdown() {
      closed = true;
      finalFlush.removeEventListener('abort', endPendingWaits);
      endPendingWaits();
      agent.destroy();
    },
  };
}

function readResponse(response: IncomingMessage, resolve: (result: ExportResponse) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      resolve({ status: 'failure', error: new Error(`OTLP export response over ${MAX_RESPONSE_BYTES} bytes`) });
      response.destroy();
      return;
    }
    chunks.push(chunk);
  });
  response.on('end', () => {
    const status = response.statusCode ?? 0;
    if (status >= 200 && status <= 299) resolve({ status: 'success', data: Buffer.concat(chunks) });
    else if (RETRYABLE_STATUS.has(status)) {
      // The status, for the warning when it is not retried again: without an error the exporter base
      // says only "Export failed with retryable status".
      const retryAfter = response.headers['retry-after'];
      const error = new Error(`HTTP ${status}${retryAfter === undefined ? '' : `, Retry-After: ${retryAfter}`}`);
      resolve({ status: 'retryable', retryInMillis: retryAfterMs(retryAfter), error });
    } else {
      const error = new OTLPExporterError(response.statusMessage, status, Buffer.concat(chunks).toString());
      resolve({ status: 'failure', error });
    }
  });
  response.on('error', (error) => resolve({ status: 'failure', error }));
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number.parseInt(header, 10);
  if (Number.isInteger(seconds)) return Math.max(seconds, 0) * 1000;
  const delay = new Date(header).getTime() - Date.now();
  return Number.isNaN(delay) ? undefined : Math.max(delay, 0);
}
