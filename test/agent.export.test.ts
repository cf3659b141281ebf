/**
 * What the agent exports, end to end, on every runtime: a real process runs with the built preload
 * (dist/register.*) and the public API (dist/index.*), and a real OTLP/HTTP receiver decodes what
 * arrives with the official proto definitions. Covered: the span and the counter with their resource
 * (service name and version, runtime, SDK), both OTLP/HTTP encodings, per-signal endpoints, headers,
 * gzip, the unsupported grpc protocol, the stderr console exporter, samplers and propagators.
 *
 * The runtimes run side by side (one `describe` per runtime, concurrently); the tests of one runtime
 * run one after the other.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  AggregationTemporality,
  type Attributes,
  closedPort,
  decodeExportRequest,
  type OtlpReceiver,
  type OtlpReceiverOptions,
  type ReceivedMetric,
  type ReceivedSpan,
  SpanKind,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import {
  AGENT_RUNS,
  type AgentRun,
  type AppFormat,
  fixture,
  processRuntimeName,
  REPO_ROOT,
  type RunResult,
  type RuntimeName,
  runApp,
  runtimeVersions,
} from './support/runtimes.ts';

// ---------------------------------------------------------------------------------------------
// The runs: each runtime with its documented preload flag, and Node's --require with a CommonJS app
// ---------------------------------------------------------------------------------------------

/** What each runtime says its version is (`node --version` without the v), as process.versions has it. */
const VERSIONS = Object.fromEntries(
  Object.entries(await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)))).map(([runtime, version]) => [
    runtime,
    version.replace(/^v/, ''),
  ]),
) as Record<RuntimeName, string>;

/** The traced app in the row's module format (test/fixtures/traced-app.mjs and its CommonJS twin). */
const TRACED_APP: Readonly<Record<AppFormat, string>> = {
  esm: fixture('traced-app.mjs'),
  cjs: fixture('agent-traced-app.cjs'),
};

const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
const SCOPE = { name: 'rpcplugin-telemetry', version: PACKAGE_VERSION };
const HANDSHAKE = '1|1|tcp|127.0.0.1:1234|grpc\n';

/** Every exporter off: for the tests that look only at what the app prints. */
const NO_EXPORT = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

interface Run extends RunResult {
  /** The pid of the child, as the process detector should report it. */
  readonly pid: number | undefined;
}

function run(row: AgentRun, env: Record<string, string>, script: string = TRACED_APP[row.format]): Promise<Run> {
  let pid: number | undefined;
  return runApp({
    runtime: row.runtime,
    loader: row.loader,
    script,
    env,
    onSpawn: (child) => {
      pid = child.pid;
    },
  }).then((result) => ({ ...result, pid }));
}

/** The run ended as the app ends by itself: exit code 0, no signal, the handshake alone on stdout. */
function assertAppEndedWell(result: RunResult): void {
  assert.equal(result.signal, null, `${result.command}\n${result.stderr}`);
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  assert.equal(result.stdout.toString('utf8'), HANDSHAKE, `stdout of ${result.command}`);
}

/** A receiver for one test, closed when the test ends whatever happens. */
async function withReceiver<T>(options: OtlpReceiverOptions, body: (receiver: OtlpReceiver) => Promise<T>): Promise<T> {
  const receiver = await startOtlpReceiver(options);
  try {
    return await body(receiver);
  } finally {
    await receiver.close();
  }
}

/** The one span and the one counter the traced app makes, once both have arrived. */
async function telemetryOf(receiver: OtlpReceiver): Promise<{ span: ReceivedSpan; counter: ReceivedMetric }> {
  return receiver.waitFor(
    (r) => {
      const span = r.spans().find((candidate) => candidate.name === 'fixture.work');
      const counter = r.metrics().find((candidate) => candidate.name === 'fixture.counter');
      return span !== undefined && counter !== undefined && { span, counter };
    },
    { timeoutMs: 5_000, description: 'the span fixture.work and the metric fixture.counter' },
  );
}

function assertSpan(span: ReceivedSpan): void {
  assert.equal(span.name, 'fixture.work');
  assert.equal(span.kind, SpanKind.INTERNAL);
  assert.equal(span.parentSpanId, '');
  assert.match(span.traceId, /^[0-9a-f]{32}$/);
  assert.deepEqual(span.attributes, { 'fixture.attribute': 'value' });
  assert.deepEqual({ name: span.scope.name, version: span.scope.version }, SCOPE);
}

function assertCounter(counter: ReceivedMetric): void {
  assert.equal(counter.type, 'sum');
  assert.equal(counter.isMonotonic, true);
  assert.equal(counter.temporality, AggregationTemporality.CUMULATIVE);
  assert.deepEqual(
    counter.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })),
    [{ attributes: { 'fixture.attribute': 'value' }, value: 1 }],
  );
  assert.deepEqual({ name: counter.scope.name, version: counter.scope.version }, SCOPE);
}

/** The attributes every resource has, whatever the service: runtime, process (no command line), SDK. */
function assertRuntimeResource(resource: Attributes, row: AgentRun, pid: number | undefined): void {
  assert.equal(resource['process.runtime.name'], processRuntimeName(row.runtime));
  assert.equal(resource['process.runtime.version'], VERSIONS[row.runtime]);
  assert.equal(resource['process.pid'], pid);
  assert.ok(!('process.command_args' in resource), 'process.command_args can hold secrets and must not be sent');
  assert.ok(!('process.command_line' in resource), 'process.command_line can hold secrets and must not be sent');
  assert.equal(resource['telemetry.sdk.name'], 'opentelemetry');
  assert.equal(resource['telemetry.sdk.language'], 'nodejs');
  assert.match(String(resource['telemetry.sdk.version']), /^\d+\.\d+\.\d+/);
  assert.equal(resource['telemetry.distro.name'], 'rpcplugin-telemetry');
  assert.equal(resource['telemetry.distro.version'], PACKAGE_VERSION);
}

// ---------------------------------------------------------------------------------------------
// An app of its own, outside the repository, for the service name from the nearest package.json
// ---------------------------------------------------------------------------------------------

const PROBE_PACKAGE = { name: 'agent-export-probe', version: '4.5.6' };
let probeDir = '';

/** A directory with a package.json and an app in each format that uses the public API by absolute path. */
function makeProbeApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-probe-'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(PROBE_PACKAGE, null, 2)}\n`);
  const work = [
    "getRpcTracer().startSpan('fixture.work', { attributes: { 'fixture.attribute': 'value' } }).end();",
    "getRpcMeter().createCounter('fixture.counter').add(1, { 'fixture.attribute': 'value' });",
    `process.stdout.write(${JSON.stringify(HANDSHAKE)});`,
  ].join('\n');
  const esmIndex = pathToFileURL(join(REPO_ROOT, 'dist', 'index.mjs')).href;
  const cjsIndex = join(REPO_ROOT, 'dist', 'index.cjs');
  writeFileSync(
    join(dir, 'app.mjs'),
    `import { getRpcMeter, getRpcTracer } from ${JSON.stringify(esmIndex)};\n${work}\n`,
  );
  writeFileSync(
    join(dir, 'app.cjs'),
    `const { getRpcMeter, getRpcTracer } = require(${JSON.stringify(cjsIndex)});\n${work}\n`,
  );
  return dir;
}

before(() => {
  probeDir = makeProbeApp();
});
after(() => {
  if (probeDir !== '') rmSync(probeDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The tests, per runtime
// ---------------------------------------------------------------------------------------------

describe('agent export, end to end', { concurrency: true }, () => {
  for (const row of AGENT_RUNS) {
    const app = row.format === 'esm' ? 'ESM app' : 'CommonJS app';
    // One test at a time per runtime: six processes at once is plenty for two cores.
    describe(`${row.runtime} (${VERSIONS[row.runtime]}) ${row.loader.name}, ${app}`, { concurrency: 1 }, () => {
      test('span and counter arrive over http/protobuf on /v1/traces and /v1/metrics, with the resource of OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES', () =>
        withReceiver({}, async (receiver) => {
          const result = await run(row, {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_SERVICE_NAME: 'agent-export-test',
            // service.name here loses to OTEL_SERVICE_NAME (spec); the others are added.
            OTEL_RESOURCE_ATTRIBUTES: 'service.name=loses,deployment.environment.name=ci,team=plugins%20%26%20hosts',
          });
          assertAppEndedWell(result);
          const { span, counter } = await telemetryOf(receiver);
          assertSpan(span);
          assertCounter(counter);
          for (const resource of [span.resource, counter.resource]) {
            assert.equal(resource['service.name'], 'agent-export-test');
            assert.equal(resource['deployment.environment.name'], 'ci');
            assert.equal(resource.team, 'plugins & hosts');
            assertRuntimeResource(resource, row, result.pid);
          }
          // The repository's own package.json is the nearest to the fixture: its version is the app's.
          assert.equal(span.resource['service.version'], PACKAGE_VERSION);

          const exports = receiver.requests.filter((request) => request.spans.length + request.metrics.length > 0);
          assert.deepEqual([...new Set(exports.map((request) => request.path))].sort(), ['/v1/metrics', '/v1/traces']);
          for (const request of receiver.requests) {
            assert.equal(request.contentType, 'application/x-protobuf', `${request.path}\n${receiver.describe()}`);
            assert.equal(request.contentEncoding, '');
            assert.equal(request.status, 200, receiver.describe());
          }
          assert.ok(!result.stderr.includes('rpcplugin-telemetry'), `a message of ours on stderr:\n${result.stderr}`);
        }));

      test('without OTEL_SERVICE_NAME, service.name and service.version come from the package.json nearest the app', () =>
        withReceiver({}, async (receiver) => {
          const script = join(probeDir, row.format === 'esm' ? 'app.mjs' : 'app.cjs');
          const result = await run(row, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, script);
          assertAppEndedWell(result);
          assert.equal(result.stderr, '', result.command);
          const { span, counter } = await telemetryOf(receiver);
          assertSpan(span);
          assertCounter(counter);
          for (const resource of [span.resource, counter.resource]) {
            assert.equal(resource['service.name'], PROBE_PACKAGE.name);
            assert.equal(resource['service.version'], PROBE_PACKAGE.version);
            assertRuntimeResource(resource, row, result.pid);
          }
        }));

      test('OTEL_RESOURCE_ATTRIBUTES service.name and service.version win over the package.json', () =>
        withReceiver({}, async (receiver) => {
          const script = join(probeDir, row.format === 'esm' ? 'app.mjs' : 'app.cjs');
          const result = await run(
            row,
            {
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
              OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes,service.version=9.9.9',
            },
            script,
          );
          assertAppEndedWell(result);
          const { span } = await telemetryOf(receiver);
          assert.equal(span.resource['service.name'], 'from-attributes');
          assert.equal(span.resource['service.version'], '9.9.9');
        }));

      test('http/json: application/json requests, decoded to the same span and counter', () =>
        withReceiver({}, async (receiver) => {
          const result = await run(row, {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
            OTEL_SERVICE_NAME: 'agent-json',
          });
          assertAppEndedWell(result);
          const { span, counter } = await telemetryOf(receiver);
          assertSpan(span);
          assertCounter(counter);
          assert.equal(span.resource['service.name'], 'agent-json');
          for (const request of receiver.requests) {
            assert.equal(request.contentType, 'application/json', receiver.describe());
            assert.equal(request.encoding, 'json');
            assert.equal(request.status, 200, receiver.describe());
          }
        }));

      test('per-signal endpoints are used as given, without /v1/<signal> appended, over the generic one', () =>
        withReceiver({ paths: { traces: '/custom/spans', metrics: '/custom/metrics/in' } }, async (receiver) => {
          const result = await run(row, {
            // The generic endpoint points at nothing: only the per-signal ones can deliver.
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.endpoint('traces'),
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: receiver.endpoint('metrics'),
          });
          assertAppEndedWell(result);
          const { span, counter } = await telemetryOf(receiver);
          assertSpan(span);
          assertCounter(counter);
          assert.deepEqual(
            [...new Set(receiver.requests.map((request) => `${request.path} ${request.status}`))].sort(),
            ['/custom/metrics/in 200', '/custom/spans 200'],
          );
        }));

      test('OTEL_EXPORTER_OTLP_HEADERS arrive as request headers, percent-decoded; a per-signal one overrides', () =>
        withReceiver({}, async (receiver) => {
          const result = await run(row, {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cr3t,x-tenant=team%20a',
            OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces%2Conly',
          });
          assertAppEndedWell(result);
          await telemetryOf(receiver);
          const headersOf = (path: string) => {
            const request = receiver.requests.find((candidate) => candidate.path === path);
            assert.ok(request, `nothing on ${path}\n${receiver.describe()}`);
            return { key: request.headers['x-api-key'], tenant: request.headers['x-tenant'] };
          };
          assert.deepEqual(headersOf('/v1/traces'), { key: 's3cr3t', tenant: 'traces,only' });
          assert.deepEqual(headersOf('/v1/metrics'), { key: 's3cr3t', tenant: 'team a' });
          assert.ok(!result.stderr.includes('s3cr3t'), `the header value on stderr:\n${result.stderr}`);
        }));

      test('OTEL_EXPORTER_OTLP_COMPRESSION=gzip: gzip-encoded requests that decode to the span and counter', () =>
        withReceiver({}, async (receiver) => {
          const result = await run(row, {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
          });
          assertAppEndedWell(result);
          const { span, counter } = await telemetryOf(receiver);
          assertSpan(span);
          assertCounter(counter);
          for (const request of receiver.requests) {
            assert.equal(request.contentEncoding, 'gzip', receiver.describe());
            assert.equal(request.status, 200, receiver.describe());
          }
        }));

      // OTEL_EXPORTER_OTLP_PROTOCOL=grpc: test/agent.grpc-exporter.test.ts, against a gRPC receiver.

      test('OTEL_TRACES_EXPORTER=console: the span as one OTLP/JSON line on stderr; stdout byte-identical to the app without the agent', async () => {
        const [result, alone] = await Promise.all([
          run(row, {
            OTEL_TRACES_EXPORTER: 'console',
            OTEL_METRICS_EXPORTER: 'none',
            OTEL_LOGS_EXPORTER: 'none',
            OTEL_SERVICE_NAME: 'agent-console',
          }),
          run(row, { RPCPLUGIN_TELEMETRY: 'false' }),
        ]);
        assertAppEndedWell(result);
        assert.ok(
          result.stdout.equals(alone.stdout),
          `stdout differs:\n${JSON.stringify(result.stdout.toString())}\n${JSON.stringify(alone.stdout.toString())}`,
        );
        const lines = result.stderr.split('\n').filter((line) => line !== '');
        const ours = lines.filter((line) => !line.startsWith('app: '));
        assert.equal(ours.length, 1, `expected one line besides the app's:\n${result.stderr}`);
        const line = ours[0] ?? '';
        assert.match(line, /^\{"resourceSpans":\[/);
        const { spans } = decodeExportRequest('traces', 'json', new TextEncoder().encode(line));
        assert.equal(spans.length, 1);
        const [span] = spans;
        assert.ok(span);
        assertSpan(span);
        assert.equal(span.resource['service.name'], 'agent-console');
        assertRuntimeResource(span.resource, row, result.pid);
        assert.deepEqual(
          lines.filter((candidate) => candidate.startsWith('app: ')),
          ['app: started=true otel-global=true', 'app: propagated=traceparent'],
        );
      });

      test('samplers: always_off and traceidratio 0 export no span (the counter still arrives); traceidratio 1 does', () =>
        withReceiver({}, async (receiver) => {
          const cases: readonly Record<string, string>[] = [
            { OTEL_TRACES_SAMPLER: 'always_off', OTEL_SERVICE_NAME: 'sampler-off' },
            { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', OTEL_SERVICE_NAME: 'sampler-ratio-0' },
            { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1', OTEL_SERVICE_NAME: 'sampler-ratio-1' },
          ];
          // Three apps at once: on a loaded machine their exit flush can pass the 3 s default.
          const results = await Promise.all(
            cases.map((env) =>
              run(row, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, RPCPLUGIN_SHUTDOWN_TIMEOUT: '15000' }),
            ),
          );
          for (const result of results) {
            assertAppEndedWell(result);
            assert.equal(result.stderr, 'app: started=true otel-global=true\napp: propagated=traceparent\n');
          }
          // Every run has exported its counter, so whatever spans were to come have come.
          const services = cases.map((env) => env.OTEL_SERVICE_NAME);
          await receiver.waitFor(
            (r) => services.every((name) => r.metrics().some((metric) => metric.resource['service.name'] === name)),
            { timeoutMs: 5_000, description: `a counter from each of ${services.join(', ')}` },
          );
          const spanServices = receiver.spans().map((span) => `${span.resource['service.name']} ${span.name}`);
          assert.deepEqual(spanServices, ['sampler-ratio-1 fixture.work'], receiver.describe());
        }));

      test('propagators: the carrier keys the app sees follow OTEL_PROPAGATORS', async () => {
        const cases: readonly { propagators?: string; keys: RegExp }[] = [
          { keys: /^(baggage,)?traceparent$/ },
          { propagators: 'tracecontext', keys: /^traceparent$/ },
          { propagators: 'b3', keys: /^b3$/ },
          { propagators: 'b3multi', keys: /^x-b3-sampled,x-b3-spanid,x-b3-traceid$/ },
          { propagators: 'jaeger', keys: /^uber-trace-id$/ },
          { propagators: 'b3,tracecontext', keys: /^b3,traceparent$/ },
          { propagators: 'none', keys: /^$/ },
        ];
        const results = await Promise.all(
          cases.map(({ propagators }) =>
            run(row, { ...NO_EXPORT, ...(propagators === undefined ? {} : { OTEL_PROPAGATORS: propagators }) }),
          ),
        );
        cases.forEach(({ propagators = '(default)', keys }, index) => {
          const result = results[index];
          assert.ok(result);
          assertAppEndedWell(result);
          const propagated = /^app: propagated=(.*)$/m.exec(result.stderr)?.[1];
          assert.ok(propagated !== undefined, `no propagated= line:\n${result.stderr}`);
          assert.match(propagated, keys, `OTEL_PROPAGATORS=${propagators}`);
        });
      });
    });
  }
});
