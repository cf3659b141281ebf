/**
 * Our OTLP/HTTP transport (src/agent/exporters/otlp-http-transport.ts) against a real HTTP server on
 * 127.0.0.1: what counts as success, failure and retryable; how often and how long apart it retries;
 * Retry-After; the deadline and the per-attempt timeout; the final flush's single try; and that
 * nothing it leaves behind holds a finished app open, on every runtime.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type ExportResponse, type IExporterTransport, OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import {
  createHttpTransport,
  type HttpTransportOptions,
  MAX_RESPONSE_BYTES,
  MAX_RETRIES,
  retryBackoffMs,
} from '../src/agent/exporters/otlp-http-transport.ts';
import { MAX_TIMER_DELAY_MS, timerDelay } from '../src/agent/runtime/timer-delay.ts';
import { type BundledApp, bundleApp } from './support/bundle-app.ts';
import { closedPort } from './support/otlp-receiver.ts';
import { RUNTIME_BINARIES, type RuntimeName, spawnCollect } from './support/runtimes.ts';
import { type Answer, holdOpen, type ScriptedServer, withScriptedServer } from './support/scripted-http-server.ts';

const BODY = new TextEncoder().encode('an OTLP request body '.repeat(50));
const OK: Answer = { status: 200, body: 'accepted' };
/** A retryable answer that asks for an immediate retry, so that counting attempts takes no time. */
const RETRY_NOW: Answer = { status: 503, headers: { 'Retry-After': '0' } };

function transportTo(
  url: string,
  options: Partial<Omit<HttpTransportOptions, 'url'>> = {},
): IExporterTransport & { readonly finalFlush: AbortController } {
  const finalFlush = new AbortController();
  const transport = createHttpTransport({
    url: `${url}/v1/traces`,
    headers: { 'Content-Type': 'application/x-protobuf' },
    compression: 'none',
    tls: {},
    finalFlush: finalFlush.signal,
    ...options,
  });
  return Object.assign(transport, { finalFlush });
}

/** One export through a fresh transport to `server`; the transport is shut down afterwards. */
async function sendOnce(
  server: ScriptedServer,
  timeoutMs: number,
  options: Partial<Omit<HttpTransportOptions, 'url'>> = {},
): Promise<ExportResponse> {
  const transport = transportTo(server.url, options);
  try {
    return await transport.send(BODY, timeoutMs);
  } finally {
    transport.shutdown();
  }
}

function errorCode(response: ExportResponse): string | undefined {
  return response.status === 'success' ? undefined : (response.error as NodeJS.ErrnoException | undefined)?.code;
}

/** `promise`, or a rejection after `ms`: a wait that does not end fails the test instead of hanging it. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The gaps between the server's arrivals, in ms. */
function gaps(server: ScriptedServer): number[] {
  return server.requests
    .slice(1)
    .map((request, index) => request.receivedAt - (server.requests[index]?.receivedAt ?? 0));
}

describe('the backoff schedule without Retry-After (retryBackoffMs)', () => {
  // retry: 1 s × 1.5^retry, moved by the jitter from -20 % (random 0) to +20 % (random 1), at most 5 s.
  const table: readonly [retry: number, random: number, expectedMs: number][] = [
    [0, 0, 800],
    [0, 0.5, 1000],
    [0, 1, 1200],
    [1, 0, 1200],
    [1, 0.5, 1500],
    [1, 1, 1800],
    [2, 0, 1800],
    [2, 0.5, 2250],
    [2, 1, 2700],
    [3, 0, 2700],
    [3, 0.5, 3375],
    [3, 1, 4050],
    [4, 0, 4050],
    [4, 0.5, 5000],
    [4, 1, 5000],
  ];
  for (const [retry, random, expectedMs] of table) {
    test(`retry ${retry + 1}, jitter drawn ${random}: ${expectedMs} ms`, () => {
      const actual = retryBackoffMs(retry, random);
      assert.ok(Math.abs(actual - expectedMs) < 1e-9, `${actual} ms`);
    });
  }

  test(`${MAX_RETRIES} retries after the first try`, () => assert.equal(MAX_RETRIES, 5));
});

describe('timerDelay: what setTimeout is given', () => {
  const table: readonly [ms: number, expected: number][] = [
    [0, 0],
    [1500, 1500],
    [MAX_TIMER_DELAY_MS, MAX_TIMER_DELAY_MS],
    [MAX_TIMER_DELAY_MS + 1, MAX_TIMER_DELAY_MS],
    [MAX_TIMER_DELAY_MS + 1000, MAX_TIMER_DELAY_MS],
    [Number.POSITIVE_INFINITY, MAX_TIMER_DELAY_MS],
    [-5, 0],
    [Number.NEGATIVE_INFINITY, 0],
    [Number.NaN, 0],
  ];
  for (const [ms, expected] of table) {
    test(`${ms} ms → ${expected} ms`, () => assert.equal(timerDelay(ms), expected));
  }
});

describe('OTLP/HTTP transport', () => {
  test('a 2xx answer is a success with the body, after one POST of the request as given', () =>
    withScriptedServer(
      () => OK,
      async (server) => {
        const response = await sendOnce(server, 10_000);
        assert.deepEqual(response, { status: 'success', data: Buffer.from('accepted') });
        assert.equal(server.requests.length, 1);
        const [request] = server.requests;
        assert.equal(request?.method, 'POST');
        assert.equal(request?.path, '/v1/traces');
        assert.equal(request?.headers['content-type'], 'application/x-protobuf');
        assert.equal(request?.headers['content-encoding'], undefined);
        assert.deepEqual(new Uint8Array(request?.body ?? []), BODY);
      },
    ));

  test('gzip: the body is sent compressed, with Content-Encoding: gzip', () =>
    withScriptedServer(
      () => OK,
      async (server) => {
        const response = await sendOnce(server, 10_000, { compression: 'gzip' });
        assert.equal(response.status, 'success');
        const [request] = server.requests;
        assert.equal(request?.headers['content-encoding'], 'gzip');
        assert.ok((request?.body.length ?? 0) < BODY.length, 'smaller than the body itself');
        assert.deepEqual(new Uint8Array(gunzipSync(request?.body ?? Buffer.alloc(0))), BODY);
      },
    ));

  for (const status of [400, 401, 403, 404, 413, 500, 501]) {
    test(`${status} is not retried: a failure with the status and the collector's body in the error`, () =>
      withScriptedServer(
        () => ({ status, body: `the collector says no (${status})` }),
        async (server) => {
          const response = await sendOnce(server, 10_000);
          assert.equal(response.status, 'failure');
          assert.ok(response.error instanceof OTLPExporterError, String(response.error));
          assert.equal(response.error.code, status);
          assert.equal(response.error.data, `the collector says no (${status})`);
          assert.equal(server.requests.length, 1);
        },
      ));
  }

  for (const status of [429, 502, 503, 504]) {
    test(`${status} is retried: the first try and ${MAX_RETRIES} retries, then the export is retryable`, () =>
      withScriptedServer(
        () => ({ ...RETRY_NOW, status }),
        async (server) => {
          const response = await sendOnce(server, 10_000);
          assert.equal(response.status, 'retryable');
          assert.equal(server.requests.length, 1 + MAX_RETRIES);
        },
      ));
  }

  test('a retry that is answered 200 ends the export as a success', () =>
    withScriptedServer(
      (_request, index) => (index < 2 ? RETRY_NOW : OK),
      async (server) => {
        const response = await sendOnce(server, 10_000);
        assert.equal(response.status, 'success');
        assert.equal(server.requests.length, 3);
      },
    ));

  test('Retry-After in seconds: a wait that passes the deadline is not waited, the export gives up', () =>
    withScriptedServer(
      () => ({ status: 429, headers: { 'Retry-After': '3600' } }),
      async (server) => {
        const response = await sendOnce(server, 60_000);
        assert.equal(response.status, 'retryable');
        assert.equal(response.status === 'retryable' && response.retryInMillis, 3_600_000);
        assert.equal(response.status === 'retryable' && response.error?.message, 'HTTP 429, Retry-After: 3600');
        assert.equal(server.requests.length, 1);
      },
    ));

  test('Retry-After in seconds is waited out before the retry', () =>
    withScriptedServer(
      (_request, index) => (index === 0 ? { status: 503, headers: { 'Retry-After': '1' } } : OK),
      async (server) => {
        const response = await sendOnce(server, 10_000);
        assert.equal(response.status, 'success');
        assert.equal(server.requests.length, 2);
        const [gap = 0] = gaps(server);
        // Timers do not fire early (Node rounds to the millisecond, hence the one ms of slack).
        assert.ok(gap >= 999, `retried after ${gap} ms`);
      },
    ));

  test('Retry-After as an HTTP date: one an hour ahead passes the deadline, one in the past retries at once', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toUTCString();
    await withScriptedServer(
      () => ({ status: 503, headers: { 'Retry-After': inAnHour } }),
      async (server) => {
        const response = await sendOnce(server, 60_000);
        assert.equal(response.status, 'retryable');
        assert.ok(
          response.status === 'retryable' && (response.retryInMillis ?? 0) > 3_500_000,
          JSON.stringify(response),
        );
        assert.equal(server.requests.length, 1);
      },
    );
    const aMinuteAgo = new Date(Date.now() - 60_000).toUTCString();
    await withScriptedServer(
      (_request, index) => (index === 0 ? { status: 503, headers: { 'Retry-After': aMinuteAgo } } : OK),
      async (server) => {
        const response = await sendOnce(server, 60_000);
        assert.equal(response.status, 'success');
        assert.equal(server.requests.length, 2);
      },
    );
  });

  test('a refused connection is retryable (ECONNREFUSED); the first backoff (≥ 800 ms) passes a 500 ms deadline', async () => {
    const port = await closedPort();
    const transport = transportTo(`http://127.0.0.1:${port}`);
    const release = holdOpen();
    const response = await transport.send(BODY, 500).finally(release);
    transport.shutdown();
    assert.equal(response.status, 'retryable');
    assert.equal(errorCode(response), 'ECONNREFUSED');
  });

  test('a reset connection is retried with jittered exponential backoff until the next wait passes the deadline', () =>
    withScriptedServer(
      () => 'reset',
      async (server) => {
        // Waits of 800-1200 ms, then 1200-1800 ms: the third try starts by 3.0 s after the first; the
        // third wait (at least 1800 ms) would end at 3.8 s at the earliest, past the 3.7 s deadline.
        const response = await sendOnce(server, 3700);
        assert.equal(response.status, 'retryable');
        assert.equal(errorCode(response), 'ECONNRESET');
        assert.equal(server.requests.length, 3, 'the first try and two retries');
        const [first = 0, second = 0] = gaps(server);
        assert.ok(first >= 799, `first retry after ${first} ms, not before 800 ms`);
        assert.ok(second >= 1199, `second retry after ${second} ms, not before 1200 ms`);
      },
    ));

  test('per-attempt timeout: a collector that never answers ends the try at the deadline', () =>
    withScriptedServer(
      () => 'hang',
      async (server) => {
        const response = await sendOnce(server, 300);
        assert.equal(response.status, 'retryable');
        assert.equal(response.status === 'retryable' && response.error?.message, 'Request timed out');
        assert.equal(server.requests.length, 1);
      },
    ));

  test('a retry gets what is left of the deadline, not a new one', () =>
    withScriptedServer(
      (_request, index) => (index === 0 ? RETRY_NOW : 'hang'),
      async (server) => {
        const response = await sendOnce(server, 400);
        assert.equal(response.status === 'retryable' && response.error?.message, 'Request timed out');
        assert.equal(server.requests.length, 2);
      },
    ));

  test(`a response over ${MAX_RESPONSE_BYTES} bytes fails the export`, () =>
    withScriptedServer(
      () => ({ status: 200, body: Buffer.alloc(MAX_RESPONSE_BYTES + 1, 'x') }),
      async (server) => {
        const response = await sendOnce(server, 10_000);
        assert.equal(response.status, 'failure');
        assert.equal(
          response.status === 'failure' && response.error.message,
          `OTLP export response over ${MAX_RESPONSE_BYTES} bytes`,
        );
        assert.equal(server.requests.length, 1);
      },
    ));

  test('a timeout beyond what timers take is waited, not cut to 1 ms (no TimeoutOverflowWarning)', () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    return withScriptedServer(
      // Answered a little later: a timer that fired at once would have ended the try first.
      () => new Promise<Answer>((resolve) => setTimeout(() => resolve(OK), 100)),
      async (server) => {
        const response = await sendOnce(server, MAX_TIMER_DELAY_MS + 1000);
        await new Promise((resolve) => setImmediate(resolve));
        process.off('warning', onWarning);
        assert.deepEqual(
          warnings.map((warning) => `${warning.name}: ${warning.message}`),
          [],
        );
        assert.equal(response.status, 'success');
        assert.equal(server.requests.length, 1);
      },
    );
  });

  describe('the final flush (its AbortSignal aborted)', () => {
    test('each export is tried once: no retry', () =>
      withScriptedServer(
        () => RETRY_NOW,
        async (server) => {
          const transport = transportTo(server.url);
          transport.finalFlush.abort();
          const response = await transport.send(BODY, 10_000);
          transport.shutdown();
          assert.equal(response.status, 'retryable');
          assert.equal(server.requests.length, 1);
        },
      ));

    test('a retry wait already under way ends at once, without another try', () =>
      withScriptedServer(
        () => ({ status: 503, headers: { 'Retry-After': '3600' } }),
        async (server) => {
          const transport = transportTo(server.url);
          // Two hours to the deadline: the hour's wait is scheduled.
          const sending = transport.send(BODY, 7_200_000);
          await server.waitForRequests(1);
          // Time for the answer to arrive and the wait to begin (an abort before it would skip the wait).
          await new Promise((resolve) => setTimeout(resolve, 200));
          transport.finalFlush.abort();
          const response = await within(5000, sending, 'the export to end after the abort');
          transport.shutdown();
          assert.equal(response.status, 'retryable');
          assert.equal(server.requests.length, 1);
        },
      ));

    test('one abort listener per transport, whatever the number of sends; none after shutdown', () =>
      withScriptedServer(
        () => RETRY_NOW,
        async (server) => {
          const transport = transportTo(server.url);
          const { signal } = transport.finalFlush;
          assert.equal(getEventListeners(signal, 'abort').length, 1);
          await Promise.all(Array.from({ length: 12 }, () => transport.send(BODY, 10_000)));
          assert.equal(server.requests.length, 12 * (1 + MAX_RETRIES));
          assert.equal(getEventListeners(signal, 'abort').length, 1);
          transport.shutdown();
          assert.equal(getEventListeners(signal, 'abort').length, 0);
        },
      ));
  });
});

describe('nothing of the exports holds a finished app open', () => {
  let app: BundledApp | undefined;
  before(async () => {
    app = await bundleApp('test/support/unfinished-exports-app.ts');
  });
  after(() => app?.remove());

  for (const runtime of Object.keys(RUNTIME_BINARIES) as RuntimeName[]) {
    test(`${runtime}: an app that leaves exports unfinished exits by itself, at once and silently`, () =>
      withScriptedServer(
        () => 'hang',
        (hanging) =>
          withScriptedServer(
            () => ({ status: 503, headers: { 'Retry-After': '3600' } }),
            (retryLater) =>
              withScriptedServer(
                // Answered once both exports are under way: until then, the app waits for this.
                async () => {
                  await Promise.all([hanging.waitForRequests(2), retryLater.waitForRequests(1)]);
                  return OK;
                },
                async (seen) => {
                  const script = app?.script ?? assert.fail('not bundled');
                  const args = runtime === 'deno' ? ['run', '-A', script] : [script];
                  // spawnCollect's time limit (20 s) fails the test if anything holds the app open.
                  const run = await spawnCollect(RUNTIME_BINARIES[runtime], args, {
                    env: { HANGING_URL: hanging.url, RETRY_LATER_URL: retryLater.url, SEEN_URL: seen.url },
                  });
                  assert.equal(run.stderr, '', run.command);
                  assert.equal(run.stdout.toString(), '');
                  assert.equal(run.exitCode, 0);
                  assert.deepEqual(
                    hanging.requests.map((request) => request.body.toString()).sort(),
                    ['"never answered"', '[1,2]'],
                    'only the request and the full batch went out',
                  );
                  assert.equal(retryLater.requests.length, 1, 'no retry before the hour is up');
                },
              ),
          ),
      ));
  }
});
