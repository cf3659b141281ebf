/**
 * The agent's HTTP client telemetry against @opentelemetry/instrumentation-undici 0.33.0 (Node's
 * fetch) and @opentelemetry/instrumentation-http 0.223.0 (node:http), on the same downstream app,
 * on each Node line (CommonJS app, --require: where upstream works without a loader hook). Where
 * the conventions agree the two must agree; where they differ, each side is held to what was
 * measured, so that this test fails when upstream (or the agent) changes, and docs/http.md with it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DownstreamRun, HTTP_SCOPE, runDownstream, stepOf } from './support/downstream.ts';
import { type HttpTarget, startHttpTarget } from './support/http-target.ts';
import {
  type AttributeValue,
  closedPort,
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { documentedRun, fixture, NODE_LINES } from './support/runtimes.ts';

const UNDICI_SCOPE = '@opentelemetry/instrumentation-undici';
const HTTP_UPSTREAM_SCOPE = '@opentelemetry/instrumentation-http';
const UPSTREAM_PRELOAD = { cjs: join(fixture('http'), 'upstream-preload.cjs'), esm: '' };

const STEPS = [
  'fetch-ok',
  'http-ok',
  'http-post',
  'fetch-500',
  'http-404',
  'fetch-redirect',
  'fetch-refused',
  'http-refused',
  'fetch-timeout',
  'http-timeout',
  'fetch-abort',
];

/** Attributes both sides record with the same meaning (the stable HTTP conventions' required and recommended ones). */
const SHARED = ['http.request.method', 'server.address', 'server.port', 'http.response.status_code'];

/** What each side records beyond SHARED on a successful request, by client. */
const EXTRA_ATTRIBUTES = {
  fetch: {
    ours: ['url.full', 'url.scheme'],
    upstream: [
      'url.full',
      'url.scheme',
      'url.path',
      'url.query',
      'http.request.method_original',
      'user_agent.original',
      'network.peer.address',
      'network.peer.port',
      'network.protocol.version',
    ],
  },
  http: {
    ours: ['url.full', 'url.scheme'],
    upstream: ['url.full', 'network.peer.address', 'network.peer.port', 'network.protocol.version'],
  },
};

/** Where the two differ, per step: [ours, upstream], as measured. */
const DIFFERENCES: Record<
  string,
  { readonly attribute: string; readonly ours: unknown; readonly upstream: unknown }[]
> = {
  // instrumentation-undici leaves the signature in the query; -http redacts it, as the conventions ask.
  'fetch-ok': [
    { attribute: 'url.full', ours: '/ok?sig=REDACTED&page=2', upstream: '/ok?sig=s3cr3t&page=2' },
    { attribute: 'http.request.header.authorization', ours: ['[redacted]'], upstream: ['Bearer s3cr3t'] },
  ],
  'http-ok': [
    { attribute: 'url.full', ours: '/ok?sig=REDACTED&page=2', upstream: '/ok?sig=REDACTED&page=2' },
    { attribute: 'http.request.header.authorization', ours: ['[redacted]'], upstream: ['Bearer s3cr3t'] },
  ],
  // -http sets the error status of a 4xx but not error.type on the span (its metric has it).
  'http-404': [{ attribute: 'error.type', ours: '404', upstream: undefined }],
  'fetch-500': [{ attribute: 'error.type', ours: '500', upstream: '500' }],
  'fetch-refused': [{ attribute: 'error.type', ours: 'ECONNREFUSED', upstream: 'ECONNREFUSED' }],
  // -http names the error's class; the agent its code, as undici does.
  'http-refused': [{ attribute: 'error.type', ours: 'ECONNREFUSED', upstream: 'Error' }],
  'http-timeout': [{ attribute: 'error.type', ours: 'ECONNRESET', upstream: 'Error' }],
  // instrumentation-undici records the DOMException's legacy numeric code (23) as error.type.
  'fetch-timeout': [{ attribute: 'error.type', ours: 'TimeoutError', upstream: 23 }],
  // A body the app aborts after the headers: undici's span ends without an error.
  'fetch-abort': [{ attribute: 'error.type', ours: 'AbortError', upstream: undefined }],
};

/** The status code of each step's span, the same on both sides except where noted. */
const STATUS: Record<string, { ours: number; upstream: number }> = {
  'fetch-abort': { ours: StatusCode.ERROR, upstream: StatusCode.UNSET },
};

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

const capture = {
  RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS: 'x-step,authorization',
  RPCPLUGIN_HTTP_CAPTURE_RESPONSE_HEADERS: 'x-served-by',
  STEPS: STEPS.join(','),
};

describe('HTTP client telemetry against instrumentation-undici and instrumentation-http', { concurrency: 2 }, () => {
  for (const runtime of NODE_LINES) {
    describe(runtime, () => {
      const row = documentedRun(runtime, 'cjs');
      let ours: DownstreamRun;
      let upstream: DownstreamRun;
      const httpSpans = (run: DownstreamRun, scopes: readonly string[]) =>
        run.spans.filter((span) => scopes.includes(span.scope.name));
      const spansOf = (run: DownstreamRun, step: string) =>
        httpSpans(run, [HTTP_SCOPE, UNDICI_SCOPE, HTTP_UPSTREAM_SCOPE]).filter(
          (span) => (stepOf(span) ?? unansweredStep(span)) === step,
        );
      // Upstream records the captured request headers only once a request is answered (-http) or sent
      // (-undici): a span of a request that failed first is told by its client and path.
      const unansweredStep = (span: ReceivedSpan) => {
        const client = span.scope.name === UNDICI_SCOPE ? 'fetch' : 'http';
        const path = String(span.attributes['url.full']).replace(/^http:\/\/[^/]+/, '');
        return path === '/nothing' ? `${client}-refused` : path === '/hang' ? `${client}-timeout` : undefined;
      };
      const value = (span: ReceivedSpan, attribute: string): AttributeValue | undefined => {
        const found = span.attributes[attribute];
        return attribute === 'url.full' && typeof found === 'string' ? found.replace(target.url, '') : found;
      };

      before(async () => {
        ours = await runDownstream(row, receiver, target, refusedPort, capture);
        upstream = await runDownstream(row, receiver, target, refusedPort, capture, [UPSTREAM_PRELOAD]);
      });

      test('the app gets the same with either', () => {
        assert.deepEqual(ours.results, upstream.results);
      });

      test('the same spans: one per request, same name and kind, children of the gRPC server span, traceparent sent', () => {
        for (const step of STEPS) {
          const mine = spansOf(ours, step);
          const theirs = spansOf(upstream, step);
          assert.deepEqual(
            mine.map((span) => [span.name, span.kind]),
            theirs.map((span) => [span.name, span.kind]),
            step,
          );
          for (const [run, spans] of [
            [ours, mine],
            [upstream, theirs],
          ] as const) {
            const server = run.spans.find((span) => span.kind === SpanKind.SERVER);
            for (const span of spans) {
              assert.equal(span.parentSpanId, server?.spanId, `${step}: parent`);
              if (step.endsWith('refused')) continue;
              const header = `00-${span.traceId}-${span.spanId}-01`;
              assert.equal(target.of(run.id, step).filter((request) => request.traceparent === header).length, 1, step);
            }
          }
        }
      });

      test('where the conventions agree, the same values', () => {
        for (const step of STEPS) {
          const [mine, theirs] = [spansOf(ours, step), spansOf(upstream, step)];
          for (const [index, span] of mine.entries()) {
            const other = theirs[index] as ReceivedSpan;
            for (const attribute of SHARED)
              assert.equal(value(span, attribute), value(other, attribute), `${step} ${attribute}`);
            const status = STATUS[step] ?? { ours: other.status.code, upstream: other.status.code };
            assert.deepEqual([span.status.code, other.status.code], [status.ours, status.upstream], `${step} status`);
          }
        }
      });

      test('the measured differences', () => {
        for (const [step, differences] of Object.entries(DIFFERENCES)) {
          const [mine] = spansOf(ours, step);
          const [theirs] = spansOf(upstream, step);
          assert.ok(mine && theirs, step);
          for (const { attribute, ours: expectedOurs, upstream: expectedUpstream } of differences) {
            assert.deepEqual(
              [value(mine, attribute), value(theirs, attribute)],
              [expectedOurs, expectedUpstream],
              `${step} ${attribute}`,
            );
          }
        }
        for (const [client, step] of [
          ['fetch', 'fetch-ok'],
          ['http', 'http-ok'],
        ] as const) {
          const [mine] = spansOf(ours, step);
          const [theirs] = spansOf(upstream, step);
          const beyond = (span: ReceivedSpan | undefined) =>
            Object.keys(span?.attributes ?? {})
              .filter(
                (name) =>
                  !SHARED.includes(name) &&
                  !name.startsWith('http.request.header.') &&
                  !name.startsWith('http.response.header.'),
              )
              .sort();
          assert.deepEqual(beyond(mine), [...EXTRA_ATTRIBUTES[client].ours].sort(), `${client}: ours`);
          assert.deepEqual(beyond(theirs), [...EXTRA_ATTRIBUTES[client].upstream].sort(), `${client}: upstream`);
        }
      });

      test('http.client.request.duration: both in seconds with the advised buckets; the attribute sets differ as measured', () => {
        const duration = (run: DownstreamRun, scope: string) =>
          run.metrics
            .filter((metric) => metric.name === 'http.client.request.duration' && metric.scope.name === scope)
            .at(-1);
        const mine = duration(ours, HTTP_SCOPE);
        const undici = duration(upstream, UNDICI_SCOPE);
        const http = duration(upstream, HTTP_UPSTREAM_SCOPE);
        for (const metric of [mine, undici, http]) {
          assert.ok(metric);
          assert.equal(metric.unit, 's');
          assert.deepEqual(
            metric.dataPoints[0]?.explicitBounds,
            [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
          );
        }
        const names = (metric: typeof mine) =>
          [...new Set(metric?.dataPoints.flatMap((point) => Object.keys(point.attributes)))].sort();
        assert.deepEqual(names(mine), [
          'error.type',
          'http.request.method',
          'http.response.status_code',
          'server.address',
          'server.port',
          'url.scheme',
        ]);
        assert.deepEqual(names(undici), [
          'error.type',
          'http.request.method',
          'http.response.status_code',
          'network.protocol.version',
          'server.address',
          'server.port',
          'url.scheme',
        ]);
        assert.deepEqual(names(http), [
          'error.type',
          'http.request.method',
          'http.response.status_code',
          'network.protocol.version',
          'server.address',
          'server.port',
        ]);
      });
    });
  }
});
