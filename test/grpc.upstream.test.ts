/**
 * Why the agent instruments @grpc/grpc-js itself (docs/grpc.md#why-not-instrumentation-grpc): the
 * KV app (test/fixtures/grpc/) on every row of AGENT_RUNS, once under our built preload and once
 * under the official @opentelemetry/instrumentation-grpc started the documented way (NodeSDK in a
 * preload, test/fixtures/grpc/upstream-preload.*), and on ES module apps also behind the ESM loader
 * hook that upstream documents, registered both ways it can be. What each produced is reduced to a
 * profile (which calls got spans, names, attributes, status, parents, metrics) and held to the
 * measured table below. When upstream closes a gap, this test fails: update the table and the docs.
 * Where upstream produced nothing, the same preload file did produce spans on another row of the
 * same runtime (Bun with a CommonJS app, Node behind the hook), so "nothing" is not a broken SDK.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertKvResults, CAPTURE, GRPC_FIXTURES, GRPC_SCOPE, lastJsonLine } from './support/grpc.ts';
import { STEPS } from './support/grpc-kv.ts';
import {
  type AttributeValue,
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedSpan,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import {
  AGENT_RUNS,
  type AgentRun,
  BUILT_PRELOAD,
  commandLine,
  type Loader,
  loader,
  type Preload,
  REPO_ROOT,
  type RunResult,
  runApp,
} from './support/runtimes.ts';

const UPSTREAM_PACKAGE = join(REPO_ROOT, 'node_modules', '@opentelemetry', 'instrumentation-grpc');
/** The version the table was measured with (package.json pins it). */
const UPSTREAM_VERSION = '0.223.0';
const UPSTREAM_SCOPE = '@opentelemetry/instrumentation-grpc';

/** One way of adding gRPC telemetry to the app: a preload, the environment it reads, the scope of its telemetry. */
interface Preloading {
  readonly name: string;
  readonly preload: Preload;
  readonly env: Readonly<Record<string, string>>;
  readonly scope: string;
  readonly appliesTo: (row: AgentRun) => boolean;
  /** The row's loader, or the row's loader with the flags this preloading adds. */
  readonly loaderFor: (row: AgentRun) => Loader;
}

const UPSTREAM_ENV = {
  OTEL_METRICS_EXPORTER: 'otlp',
  OTEL_LOGS_EXPORTER: 'none',
  // No host detectors: the resource carries OTEL_SERVICE_NAME, which tells runs apart.
  OTEL_NODE_RESOURCE_DETECTORS: 'env',
};
const upstreamPreload = (esm: string): Preload => ({
  esm: join(GRPC_FIXTURES, esm),
  cjs: join(GRPC_FIXTURES, 'upstream-preload.cjs'),
});
const rowLoader = (row: AgentRun) => row.loader;
const isNode = (row: AgentRun) => row.runtime.startsWith('node');

/** The flag opentelemetry-js's doc/esm-support.md gives for ES module apps. */
const EXPERIMENTAL_LOADER = '--experimental-loader=@opentelemetry/instrumentation/hook.mjs';

const OURS: Preloading = {
  name: 'rpcplugin-telemetry',
  preload: BUILT_PRELOAD,
  env: { RPCPLUGIN_GRPC_CAPTURE_METADATA: CAPTURE },
  scope: GRPC_SCOPE,
  appliesTo: () => true,
  loaderFor: rowLoader,
};
const UPSTREAM: Preloading = {
  name: 'instrumentation-grpc',
  preload: upstreamPreload('upstream-preload.mjs'),
  env: UPSTREAM_ENV,
  scope: UPSTREAM_SCOPE,
  appliesTo: () => true,
  loaderFor: rowLoader,
};
const UPSTREAM_REGISTERED_HOOK: Preloading = {
  name: 'instrumentation-grpc, hook by module.register()',
  preload: upstreamPreload('upstream-preload-hooked.mjs'),
  env: UPSTREAM_ENV,
  scope: UPSTREAM_SCOPE,
  appliesTo: (row) => row.format === 'esm',
  loaderFor: rowLoader,
};
const UPSTREAM_LOADER_FLAG: Preloading = {
  name: 'instrumentation-grpc, hook by --experimental-loader',
  preload: upstreamPreload('upstream-preload.mjs'),
  env: UPSTREAM_ENV,
  scope: UPSTREAM_SCOPE,
  appliesTo: (row) => isNode(row) && row.format === 'esm',
  loaderFor: (row) => ({
    ...row.loader,
    name: `${EXPERIMENTAL_LOADER} ${row.loader.name}`,
    launch: (preloads) => ({ args: [EXPERIMENTAL_LOADER, ...(row.loader.launch(preloads).args ?? [])] }),
  }),
};
const PRELOADINGS: readonly Preloading[] = [OURS, UPSTREAM, UPSTREAM_REGISTERED_HOOK, UPSTREAM_LOADER_FLAG];

/** AGENT_RUNS, and Bun with a CommonJS app: upstream's require hook works there, its ESM hook does not. */
const ROWS: readonly AgentRun[] = [
  ...AGENT_RUNS,
  { runtime: 'bun', loader: loader('bun', '--preload'), format: 'cjs' },
];

/** A row of the table: every Node line is held to the same. */
const rowName = (row: AgentRun) =>
  `${isNode(row) ? 'node' : row.runtime} ${row.loader.name} kv-app.${row.format === 'esm' ? 'mjs' : 'cjs'}`;

// ---------------------------------------------------------------------------------------------
// What a run's telemetry comes to
// ---------------------------------------------------------------------------------------------

type Status = 'UNSET' | 'OK' | 'ERROR';

/** Everything the docs' comparison says about one preloading on one row. */
interface Profile {
  /** The KV app's steps (test/support/grpc-kv.ts) with a client span, and with a server span, in order. */
  readonly clientSpans: readonly string[];
  readonly serverSpans: readonly string[];
  /** The span name of a call to proto.KV/Get. */
  readonly spanName: string;
  /** The attribute keys of a successful unary call's spans, captured metadata aside. */
  readonly clientAttributes: readonly string[];
  readonly serverAttributes: readonly string[];
  /** The keys an error span has beyond those (the client span of a NOT_FOUND answer). */
  readonly errorAttributes: readonly string[];
  /** The attribute holding the captured `x-call` metadata, and what a captured `authorization` looks like. */
  readonly metadataAttribute: string;
  readonly authorization: AttributeValue | undefined;
  /** The server span of a NOT_FOUND answer (an error of the request, not of the server, in the conventions). */
  readonly notFoundServer: { status: Status; statusCode: AttributeValue | undefined };
  /** The server span of a handler that fails with `callback(new Error('boom'))`: UNKNOWN on the wire. */
  readonly handlerErrorServer: { status: Status; statusCode: AttributeValue | undefined };
  /** Whether error spans record the exception as an event. */
  readonly exceptionEvents: boolean;
  /** Every server span is the child of its client span (context crossed the call). */
  readonly serverChildOfClient: boolean;
  /** Calls made while handling a call (in the handler, in a stream listener) are children of its server span. */
  readonly nestedChildOfServer: boolean;
  /** The parent of a call made in the callback of the call before it: 'a root span', 'the finished call' or another. */
  readonly callFromCallback: string;
  /** Metric names in the preloading's scope. */
  readonly metrics: readonly string[];
}

/** A preloading that produced no span and no metric: the app's grpc-js was never patched. */
const NOTHING = 'no telemetry';

const STEP_NAMES = STEPS.map((step) => step.step);
const SERVED = STEPS.filter((step) => step.server !== undefined).map((step) => step.step);
const STATUS_NAMES: Readonly<Record<number, Status>> = {
  [StatusCode.UNSET]: 'UNSET',
  [StatusCode.OK]: 'OK',
  [StatusCode.ERROR]: 'ERROR',
};

/** The metadata attribute naming a span's step: `…request.metadata.x-call` (ours) or `…x_call` (upstream). */
function stepAttribute(spans: readonly ReceivedSpan[]): string {
  const key = Object.keys(spans[0]?.attributes ?? {}).find((name) => /request\.metadata\.x[-_]call$/.test(name));
  assert.ok(key, `no captured x-call metadata on ${JSON.stringify(spans[0]?.attributes)}`);
  return key;
}

function profileOf(spans: readonly ReceivedSpan[], metrics: readonly ReceivedMetric[]): Profile | typeof NOTHING {
  if (spans.length === 0 && metrics.length === 0) return NOTHING;
  const key = stepAttribute(spans);
  const stepOf = (span: ReceivedSpan) => String((span.attributes[key] as AttributeValue[] | undefined)?.[0]);
  const ofKind = (kind: number) => spans.filter((span) => span.kind === kind);
  const steps = (kind: number) =>
    ofKind(kind)
      .map(stepOf)
      .sort((a, b) => STEP_NAMES.indexOf(a) - STEP_NAMES.indexOf(b));
  const span = (kind: number, step: string) => {
    const found = ofKind(kind).find((candidate) => stepOf(candidate) === step);
    assert.ok(found, `no ${kind === SpanKind.CLIENT ? 'client' : 'server'} span for ${step}`);
    return found;
  };
  const captured = (name: string) => name.includes('.metadata.');
  const keys = (of: ReceivedSpan) =>
    Object.keys(of.attributes)
      .filter((name) => !captured(name))
      .sort();
  const outcome = (of: ReceivedSpan) => ({
    status: STATUS_NAMES[of.status.code] as Status,
    statusCode: of.attributes['rpc.grpc.status_code'],
  });
  const clientOf = new Map(ofKind(SpanKind.CLIENT).map((client) => [stepOf(client), client]));
  const errorSpans = spans.filter((of) => of.status.code === StatusCode.ERROR);
  const fromCallback = span(SpanKind.CLIENT, 'in-callback');
  const authorization = span(SpanKind.CLIENT, 'get').attributes[key.replace(/x[-_]call$/, 'authorization')];
  return {
    clientSpans: steps(SpanKind.CLIENT),
    serverSpans: steps(SpanKind.SERVER),
    spanName: span(SpanKind.CLIENT, 'get').name,
    clientAttributes: keys(span(SpanKind.CLIENT, 'get')),
    serverAttributes: keys(span(SpanKind.SERVER, 'get')),
    errorAttributes: keys(span(SpanKind.CLIENT, 'missing')).filter(
      (name) => !keys(span(SpanKind.CLIENT, 'get')).includes(name),
    ),
    metadataAttribute: key,
    authorization: Array.isArray(authorization) ? authorization[0] : authorization,
    notFoundServer: outcome(span(SpanKind.SERVER, 'missing')),
    handlerErrorServer: outcome(span(SpanKind.SERVER, 'boom')),
    exceptionEvents: errorSpans.some((of) => of.events.some((event) => event.name === 'exception')),
    serverChildOfClient: ofKind(SpanKind.SERVER).every(
      (server) => server.parentSpanId === clientOf.get(stepOf(server))?.spanId,
    ),
    nestedChildOfServer: [
      ['chain-put', 'chain'],
      ['exchange-get', 'exchange'],
    ].every(
      ([nested, outer]) =>
        span(SpanKind.CLIENT, nested as string).parentSpanId === span(SpanKind.SERVER, outer as string).spanId,
    ),
    callFromCallback:
      fromCallback.parentSpanId === ''
        ? 'a root span'
        : fromCallback.parentSpanId === span(SpanKind.CLIENT, 'before-callback').spanId
          ? 'the finished call'
          : `span ${fromCallback.parentSpanId}`,
    metrics: [...new Set(metrics.map((metric) => metric.name))].sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// The measured table
// ---------------------------------------------------------------------------------------------

/** Ours, on every row: what test/grpc.app.test.ts holds exactly, in brief. */
const OURS_PROFILE: Profile = {
  clientSpans: STEP_NAMES,
  serverSpans: SERVED,
  spanName: 'proto.KV/Get',
  clientAttributes: [
    'rpc.grpc.status_code',
    'rpc.method',
    'rpc.service',
    'rpc.system',
    'server.address',
    'server.port',
  ],
  serverAttributes: [
    'rpc.grpc.status_code',
    'rpc.method',
    'rpc.service',
    'rpc.system',
    'server.address',
    'server.port',
  ],
  errorAttributes: [],
  metadataAttribute: 'rpc.grpc.request.metadata.x-call',
  authorization: '[redacted]',
  notFoundServer: { status: 'UNSET', statusCode: 5 },
  handlerErrorServer: { status: 'ERROR', statusCode: 2 },
  exceptionEvents: true,
  serverChildOfClient: true,
  nestedChildOfServer: true,
  callFromCallback: 'a root span',
  metrics: [
    'rpc.client.active_calls',
    'rpc.client.duration',
    'rpc.client.requests_per_rpc',
    'rpc.client.responses_per_rpc',
    'rpc.server.active_calls',
    'rpc.server.duration',
    'rpc.server.requests_per_rpc',
    'rpc.server.responses_per_rpc',
  ],
};

/**
 * instrumentation-grpc 0.223.0 wherever it patches grpc-js. A server span ends when the handler
 * answers (callback, `finish`, `error`): a call that the client cancels, or whose deadline passes,
 * while the handler waits never ends, and is never exported.
 */
const UPSTREAM_PROFILE: Profile = {
  clientSpans: STEP_NAMES,
  serverSpans: SERVED.filter((step) => !['deadline', 'cancel', 'watch-cancel'].includes(step)),
  spanName: 'grpc.proto.KV/Get',
  clientAttributes: [
    'rpc.grpc.status_code',
    'rpc.method',
    'rpc.service',
    'rpc.system',
    'server.address',
    'server.port',
  ],
  serverAttributes: ['rpc.grpc.status_code', 'rpc.method', 'rpc.service', 'rpc.system'],
  errorAttributes: ['grpc.error_message', 'grpc.error_name'],
  metadataAttribute: 'rpc.request.metadata.x_call',
  authorization: 'Bearer s3cr3t',
  notFoundServer: { status: 'ERROR', statusCode: 5 },
  handlerErrorServer: { status: 'UNSET', statusCode: undefined },
  exceptionEvents: false,
  serverChildOfClient: true,
  nestedChildOfServer: true,
  callFromCallback: 'the finished call',
  metrics: [],
};

type Measured = Readonly<Record<string, Profile | typeof NOTHING>>;

/** What each preloading produced on each row (rowName → preloading name → profile). */
const MEASURED: Readonly<Record<string, Measured>> = {
  // An ES module's import of grpc-js goes through Node's ESM loader, which require hooks do not see.
  'node --import kv-app.mjs': {
    [OURS.name]: OURS_PROFILE,
    [UPSTREAM.name]: NOTHING,
    [UPSTREAM_REGISTERED_HOOK.name]: UPSTREAM_PROFILE,
    [UPSTREAM_LOADER_FLAG.name]: UPSTREAM_PROFILE,
  },
  'node --require kv-app.cjs': { [OURS.name]: OURS_PROFILE, [UPSTREAM.name]: UPSTREAM_PROFILE },
  // Bun's module.register() is a no-op, and its ESM imports of a CommonJS package bypass require hooks.
  'bun --preload kv-app.mjs': {
    [OURS.name]: OURS_PROFILE,
    [UPSTREAM.name]: NOTHING,
    [UPSTREAM_REGISTERED_HOOK.name]: NOTHING,
  },
  'bun --preload kv-app.cjs': { [OURS.name]: OURS_PROFILE, [UPSTREAM.name]: UPSTREAM_PROFILE },
  // Deno's module.register() is a no-op too, but its imports of npm packages go through require.
  'deno --preload kv-app.mjs': {
    [OURS.name]: OURS_PROFILE,
    [UPSTREAM.name]: UPSTREAM_PROFILE,
    [UPSTREAM_REGISTERED_HOOK.name]: UPSTREAM_PROFILE,
  },
};

// ---------------------------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------------------------

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

let runs = 0;

/** Runs the KV app on a row under a preloading; its telemetry is what arrived under its own service name. */
async function run(row: AgentRun, preloading: Preloading) {
  const service = `kv-upstream-${row.runtime}-${++runs}`;
  const script = join(GRPC_FIXTURES, row.format === 'esm' ? 'kv-app.mjs' : 'kv-app.cjs');
  const result: RunResult = await runApp({
    runtime: row.runtime,
    loader: preloading.loaderFor(row),
    preloads: [preloading.preload],
    script,
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...preloading.env },
    timeoutMs: 30_000,
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  // Both flush before the process ends: everything has arrived by now.
  const theirs = ({ resource, scope }: { resource: Record<string, unknown>; scope: { name: string } }) =>
    resource['service.name'] === service && scope.name === preloading.scope;
  const spans = receiver.spans().filter(theirs);
  const metrics = receiver.metrics().filter(theirs);
  return { result, results: lastJsonLine(result), spans, metrics };
}

describe(`the KV app under rpcplugin-telemetry and under @opentelemetry/instrumentation-grpc ${UPSTREAM_VERSION}`, {
  concurrency: 4,
}, () => {
  test('the installed instrumentation-grpc is the version the table was measured with', () => {
    const { version } = JSON.parse(readFileSync(join(UPSTREAM_PACKAGE, 'package.json'), 'utf8'));
    assert.equal(version, UPSTREAM_VERSION, 'measure again, then update MEASURED and docs/grpc.md');
  });

  test('instrumentation-grpc creates no metric instrument (the runs below receive none from it)', () => {
    const build = join(UPSTREAM_PACKAGE, 'build', 'src');
    const sources = readdirSync(build, { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.js'));
    assert.ok(sources.length > 0, build);
    for (const file of sources) {
      const text = readFileSync(join(build, file), 'utf8');
      assert.doesNotMatch(text, /\.meter\b|create(Histogram|Counter|UpDownCounter|Gauge|Observable\w*)\(/, file);
    }
  });

  for (const runtime of [...new Set(ROWS.map((row) => row.runtime))]) {
    describe(runtime, { concurrency: 1 }, () => {
      for (const row of ROWS.filter((candidate) => candidate.runtime === runtime)) {
        const measured = MEASURED[rowName(row)];
        describe(rowName(row), () => {
          test('the table has this row, with every preloading that applies to it', () => {
            const applies = PRELOADINGS.filter((preloading) => preloading.appliesTo(row)).map((p) => p.name);
            assert.deepEqual(Object.keys(measured ?? {}).sort(), applies.sort());
          });
          for (const preloading of PRELOADINGS.filter((candidate) => candidate.appliesTo(row))) {
            const shown = commandLine({
              runtime: row.runtime,
              loader: preloading.loaderFor(row),
              preloads: [preloading.preload],
              script: `kv-app.${row.format === 'esm' ? 'mjs' : 'cjs'}`,
            });
            test(`${preloading.name}: ${shown}`, async () => {
              const { result, results, spans, metrics } = await run(row, preloading);
              assertKvResults({ result, results });
              assert.deepEqual(
                profileOf(spans, metrics),
                measured?.[preloading.name],
                `${result.command}\n${result.stderr}`,
              );
            });
          }
        });
      }
    });
  }

  test('instrumentation-grpc ignores OTEL_SEMCONV_STABILITY_OPT_IN=rpc: the same names and attributes', async () => {
    const row = AGENT_RUNS.find((candidate) => candidate.runtime === 'node20' && candidate.format === 'cjs');
    assert.ok(row);
    const optedIn = { ...UPSTREAM, env: { ...UPSTREAM.env, OTEL_SEMCONV_STABILITY_OPT_IN: 'rpc' } };
    const { result, results, spans, metrics } = await run(row, optedIn);
    assertKvResults({ result, results });
    assert.deepEqual(profileOf(spans, metrics), UPSTREAM_PROFILE, `${result.command}\n${result.stderr}`);
  });
});
