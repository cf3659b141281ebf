/**
 * Outgoing HTTP from a plugin, on every runtime row: a gRPC call into the downstream plugin (a real
 * grpc-js client and server under the preload) whose handler calls a real node:http server with
 * fetch and node:http. One trace runs from the gRPC client span through the server span to each
 * HTTP client span, and the HTTP server reads the `traceparent` (or `b3`) the agent injected.
 * Errors, timeouts, aborts, redirects and a response that ends late each end their span as
 * docs/http.md says, per runtime; requests the app suppresses and the agent's own exports are
 * neither traced nor measured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DownstreamRun, HTTP_SCOPE, runDownstream, stepOf } from './support/downstream.ts';
import { attributeKey, GRPC_SCOPE, lastMetric } from './support/grpc.ts';
import { type HttpTarget, startHttpTarget } from './support/http-target.ts';
import {
  type Attributes,
  closedPort,
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { AGENT_RUNS, isNodeLine, RUNTIME_RUNS, type RuntimeName } from './support/runtimes.ts';

/**
 * What the app sees of fetch itself (its name, length and own properties) and of the Response of a
 * followed redirect made from a Request object, measured on each runtime without the agent.
 */
const FETCH_SHAPE: Readonly<Record<RuntimeName, string>> = {
  node20: 'fetch 1 length,name,prototype true true /ok ok',
  node22: 'fetch 1 length,name,prototype true true /ok ok',
  node24: 'fetch 1 length,name,prototype true true /ok ok',
  node26: 'fetch 1 length,name,prototype true true /ok ok',
  bun: 'fetch 1 length,name,preconnect true true /ok ok',
  deno: 'fetch 0 length,name,prototype true true /ok ok',
};

/** What each step gets, with or without the agent, on every runtime (fetch-shape: FETCH_SHAPE). */
const RESULTS = {
  get: 'done',
  'fetch-ok': '200 ok',
  'http-ok': '200 ok',
  'http-post': '201',
  'fetch-500': '500 status',
  'http-404': '404 status',
  'fetch-redirect': '200 ok',
  'fetch-refused': 'error TypeError',
  'http-refused': 'error ECONNREFUSED',
  'fetch-timeout': 'error TimeoutError',
  'http-timeout': 'error ECONNRESET',
  'fetch-abort': 'error AbortError',
  'fetch-slow': '200 ab',
  'http-slow': '200 ab',
  suppressed: '200 ok, 200 ok',
};

/** Node's fetch is undici, which the agent sees request by request; Bun's and Deno's it sees as one call. */
const fetchSeesRedirects = (runtime: RuntimeName) => isNodeLine(runtime);

interface Outcome {
  readonly path: string;
  readonly status?: number;
  readonly errorType?: string;
}

/** Every span of a step, in order: the response's status and error.type (4xx, 5xx or the failure). */
function outcomes(runtime: RuntimeName): Record<string, Outcome[]> {
  return {
    'fetch-ok': [{ path: '/ok?sig=REDACTED&page=2', status: 200 }],
    'http-ok': [{ path: '/ok?sig=REDACTED&page=2', status: 200 }],
    'http-post': [{ path: '/created', status: 201 }],
    'fetch-500': [{ path: '/status/500', status: 500, errorType: '500' }],
    'http-404': [{ path: '/status/404', status: 404, errorType: '404' }],
    'fetch-redirect': fetchSeesRedirects(runtime)
      ? [
          { path: '/redirect', status: 302 },
          { path: '/ok', status: 200 },
        ]
      : [{ path: '/redirect', status: 200 }],
    'fetch-shape': fetchSeesRedirects(runtime)
      ? [
          { path: '/redirect', status: 302 },
          { path: '/ok', status: 200 },
        ]
      : [{ path: '/redirect', status: 200 }],
    // Deno's fetch error names no code (its cause says "Connection refused (os error 111)").
    'fetch-refused': [{ path: '/nothing', errorType: runtime === 'deno' ? 'TypeError' : 'ECONNREFUSED' }],
    'http-refused': [{ path: '/nothing', errorType: 'ECONNREFUSED' }],
    'fetch-timeout': [{ path: '/hang', errorType: 'TimeoutError' }],
    'http-timeout': [{ path: '/hang', errorType: 'ECONNRESET' }],
    'fetch-abort': [{ path: '/stream-forever', status: 200, errorType: 'AbortError' }],
    'fetch-slow': [{ path: '/slow', status: 200 }],
    'http-slow': [{ path: '/slow', status: 200 }],
  };
}

let receiver: OtlpReceiver;
let target: HttpTarget;
let refusedPort: number;
before(async () => {
  receiver = await startOtlpReceiver();
  target = await startHttpTarget();
  refusedPort = await closedPort();
});
after(async () => {
  await receiver.close();
  await target.close();
});

const portOf = (url: string) => Number(new URL(url).port);

describe('HTTP client telemetry', { concurrency: 2 }, () => {
  for (const row of AGENT_RUNS) {
    describe(`${row.runtime} ${row.loader.name} (${row.format})`, () => {
      let run: DownstreamRun;
      let httpSpans: ReceivedSpan[];
      const expected = outcomes(row.runtime);
      const spansOf = (step: string) => httpSpans.filter((span) => stepOf(span) === step);

      before(async () => {
        run = await runDownstream(row, receiver, target, refusedPort, {
          RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS: 'x-step,authorization',
          RPCPLUGIN_HTTP_CAPTURE_RESPONSE_HEADERS: 'x-served-by',
        });
        httpSpans = run.spans.filter((span) => span.scope.name === HTTP_SCOPE);
      });

      test('the app gets what it gets without the agent', () => {
        assert.deepEqual(run.results, { ...RESULTS, 'fetch-shape': FETCH_SHAPE[row.runtime] });
      });

      test('one trace: gRPC client → gRPC server → each HTTP client span → the HTTP server', () => {
        const grpc = run.spans.filter((span) => span.scope.name === GRPC_SCOPE);
        const client = grpc.find((span) => span.kind === SpanKind.CLIENT);
        const server = grpc.find((span) => span.kind === SpanKind.SERVER);
        assert.ok(client && server, `gRPC spans: ${grpc.map((span) => span.name).join(', ')}`);
        assert.equal(server.parentSpanId, client.spanId);
        assert.equal(server.traceId, client.traceId);
        for (const [step, outcome] of Object.entries(expected)) {
          const spans = spansOf(step);
          assert.equal(spans.length, outcome.length, `spans of ${step}`);
          for (const span of spans) {
            assert.equal(span.kind, SpanKind.CLIENT);
            assert.equal(span.traceId, client.traceId, step);
            assert.equal(span.parentSpanId, server.spanId, step);
            const header = `00-${span.traceId}-${span.spanId}-01`;
            const received = target.of(run.id, step).filter((request) => request.traceparent === header);
            // Bun's and Deno's fetch follow a redirect with the same headers: both requests carry the one span's context.
            const redirected = step === 'fetch-redirect' || step === 'fetch-shape';
            const requests = redirected && !fetchSeesRedirects(row.runtime) ? 2 : 1;
            assert.equal(received.length, propagates(step) ? requests : 0, `${step}: traceparent ${header}`);
          }
        }
      });

      test('span names and attributes follow the stable HTTP conventions; secrets are redacted', () => {
        const port = portOf(target.url);
        const base: Attributes = {
          'http.request.method': 'GET',
          'server.address': '127.0.0.1',
          'server.port': port,
          'url.scheme': 'http',
        };
        for (const step of ['fetch-ok', 'http-ok']) {
          const [span] = spansOf(step);
          assert.ok(span, step);
          assert.equal(span.name, 'GET');
          assert.deepEqual(span.attributes, {
            ...base,
            'url.full': `${target.url}/ok?sig=REDACTED&page=2`,
            'http.request.header.x-step': [step],
            'http.request.header.authorization': ['[redacted]'],
            'http.response.status_code': 200,
            'http.response.header.x-served-by': ['http-target'],
          });
          assert.deepEqual(span.status, { code: StatusCode.UNSET, message: '' });
        }
        const [post] = spansOf('http-post');
        assert.equal(post?.name, 'POST');
        assert.equal(post?.attributes['http.request.method'], 'POST');
      });

      test('status and error.type: 4xx and 5xx are errors, so are failures, with their exception', () => {
        for (const [step, outcome] of Object.entries(expected)) {
          const spans = spansOf(step);
          assert.deepEqual(
            spans.map((span) => ({
              path: String(span.attributes['url.full'])
                .slice(target.url.length)
                .replace(/^http:\/\/127\.0\.0\.1:\d+/, ''),
              ...(span.attributes['http.response.status_code'] === undefined
                ? {}
                : { status: span.attributes['http.response.status_code'] }),
              ...(span.attributes['error.type'] === undefined ? {} : { errorType: span.attributes['error.type'] }),
            })),
            outcome,
            step,
          );
          for (const span of spans) {
            const failed = span.attributes['error.type'] !== undefined;
            assert.equal(span.status.code, failed ? StatusCode.ERROR : StatusCode.UNSET, step);
            const exceptions = span.events.filter((event) => event.name === 'exception');
            // A status code says it all: no exception and no description; a failure records its error.
            const byStatus = /^\d+$/.test(String(span.attributes['error.type']));
            assert.equal(exceptions.length, failed && !byStatus ? 1 : 0, step);
            if (byStatus) assert.equal(span.status.message, '', step);
          }
        }
      });

      test('a response that ends late ends its span then', () => {
        // No clocks of two processes compared: the span starts before the server receives the request
        // and, if it ends with the body, after the server ends it, so it lasts at least as long as the
        // server held the body (300 ms). A span that ended with the headers would be far shorter.
        for (const step of ['fetch-slow', 'http-slow']) {
          const [span] = spansOf(step);
          assert.ok(span, step);
          const [request] = target.of(run.id, step);
          assert.ok(request?.endedAt !== undefined, `${step}: the server's end of the body`);
          const held = request.endedAt - request.receivedAt;
          const lasted = Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
          assert.ok(lasted >= held, `${step} lasted ${lasted} ms; the server held the body ${held} ms`);
        }
      });

      test('requests the app suppresses get no span and carry no trace context', () => {
        assert.equal(spansOf('suppressed').length, 0);
        const served = target.of(run.id, 'suppressed');
        assert.deepEqual(
          served.map((request) => [request.traceparent, request.b3]),
          [
            [undefined, undefined],
            [undefined, undefined],
          ],
        );
      });

      test("the agent's own exports are neither traced nor measured", () => {
        const collector = portOf(receiver.url);
        assert.deepEqual(
          httpSpans.filter((span) => span.attributes['server.port'] === collector || stepOf(span) === undefined),
          [],
        );
        const duration = lastMetric(run.metrics, 'http.client.request.duration');
        const ports = new Set(duration.dataPoints.map((point) => point.attributes['server.port']));
        assert.deepEqual([...ports].sort(), [portOf(target.url), refusedPort].sort());
      });

      test('http.client.request.duration: one value per span, in seconds, with the advised buckets', () => {
        const duration = lastMetric(run.metrics, 'http.client.request.duration');
        assert.equal(duration.unit, 's');
        assert.equal(duration.scope.name, HTTP_SCOPE);
        const spansBySet = new Map<string, number>();
        for (const span of httpSpans) {
          const { attributes } = span;
          const set: Attributes = {};
          for (const name of [
            'http.request.method',
            'server.address',
            'server.port',
            'url.scheme',
            'http.response.status_code',
            'error.type',
          ]) {
            if (attributes[name] !== undefined) set[name] = attributes[name];
          }
          const key = attributeKey(set);
          spansBySet.set(key, (spansBySet.get(key) ?? 0) + 1);
        }
        assert.deepEqual(
          new Map(duration.dataPoints.map((point) => [attributeKey(point.attributes), point.count])),
          spansBySet,
        );
        for (const point of duration.dataPoints) {
          assert.deepEqual(
            point.explicitBounds,
            [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
          );
        }
      });
    });
  }
});

/** Whether a step's request reached the server with the trace context: all but the refused ones. */
function propagates(step: string): boolean {
  return !step.endsWith('refused');
}

describe('configuration', { concurrency: 2 }, () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: OTEL_PROPAGATORS=b3 puts b3 on the wire, not traceparent`, async () => {
      const run = await runDownstream(row, receiver, target, refusedPort, {
        OTEL_PROPAGATORS: 'b3',
        STEPS: 'fetch-ok,http-ok',
        RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS: 'x-step',
      });
      for (const step of ['fetch-ok', 'http-ok']) {
        const [span] = run.spans.filter(
          (candidate) => candidate.scope.name === HTTP_SCOPE && stepOf(candidate) === step,
        );
        assert.ok(span, step);
        const b3 = `${span.traceId}-${span.spanId}-1`;
        const served = target.of(run.id, step).filter((request) => request.b3 === b3);
        assert.equal(served.length, propagates(step) ? 1 : 0, `${step}: b3 ${b3}`);
        for (const request of served) assert.equal(request.traceparent, undefined);
      }
    });

    test(`${row.runtime} ${row.loader.name}: without http in RPCPLUGIN_INSTRUMENTATIONS, no span and no header`, async () => {
      const run = await runDownstream(row, receiver, target, refusedPort, {
        RPCPLUGIN_INSTRUMENTATIONS: 'grpc',
        STEPS: 'fetch-ok,http-ok',
      });
      assert.deepEqual(run.results, { get: 'done', 'fetch-ok': '200 ok', 'http-ok': '200 ok' });
      const traceId = run.spans.find((span) => span.scope.name === GRPC_SCOPE)?.traceId;
      assert.ok(traceId);
      assert.equal(run.spans.filter((span) => span.scope.name === HTTP_SCOPE).length, 0);
      for (const step of ['fetch-ok', 'http-ok']) {
        assert.deepEqual(
          target.of(run.id, step).map((request) => request.traceparent),
          [undefined],
          step,
        );
      }
    });
  }
});
