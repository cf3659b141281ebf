/**
 * The plugin role, end to end on every AGENT_RUNS row: a small plugin app
 * (test/fixtures/plugin/handshake-app.*) prints a go-plugin handshake line on stdout, through
 * process.stdout.write or console.log, sometimes after another line, sometimes never; the built
 * preload runs it with TRACEPARENT/TRACESTATE/BAGGAGE handed down as a host would, and a real OTLP
 * receiver decodes what it exports. See docs/plugin.md.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type OtlpReceiver,
  type ReceivedMetric,
  type ReceivedSpan,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

const HANDSHAKE = '1|5|tcp|127.0.0.1:1234|grpc';
const TLS_MUX_HANDSHAKE =
  '1|2|unix|/tmp/plugin123/plugin.sock|grpc|MIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVudXNlZDAeFw0x|true';
const FIRST_LINE = 'starting up, please wait';
const AFTER = 'after the handshake\n';
const WRONG_FIRST_LINE_WARNING =
  'rpcplugin-telemetry: the plugin wrote something other than its handshake line first on stdout; go-plugin hosts read the first stdout line as the handshake and reject the plugin ("Unrecognized remote plugin message"). Write logs to stderr.\n';
const START_SPAN = 'rpcplugin.plugin.start';
const DURATION = 'rpcplugin.handshake.duration';

// Values a host would hand down; the cookies must appear nowhere in what the agent exports.
const COOKIE = `cookie-${randomBytes(8).toString('hex')}`;
const DEFAULT_KEY_COOKIE = `default-cookie-${randomBytes(8).toString('hex')}`;

interface Plugin {
  readonly writer: 'write' | 'console';
  readonly first?: string;
  readonly handshake: string | 'none';
  /** The app wraps process.stdout.write itself before its handshake. */
  readonly wrap?: boolean;
  /** The app says on stderr, after its handshake, what process.stdout.write and console.log are. */
  readonly report?: boolean;
  /** The app ends by process.exit() rather than with an empty event loop. */
  readonly exit?: boolean;
  /** The host hands down no TRACEPARENT/TRACESTATE/BAGGAGE. */
  readonly noParent?: boolean;
}

interface Run {
  readonly result: RunResult;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly traceId: string;
  readonly parentSpanId: string;
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

function script(run: AgentRun): string {
  return fixture(`plugin/handshake-app.${run.format === 'cjs' ? 'cjs' : 'mjs'}`);
}

function pluginEnvironment(plugin: Plugin): Record<string, string> {
  return {
    FIXTURE_WRITER: plugin.writer,
    FIXTURE_HANDSHAKE: plugin.handshake,
    ...(plugin.first === undefined ? {} : { FIXTURE_FIRST: plugin.first }),
    ...(plugin.wrap ? { FIXTURE_WRAP: '1' } : {}),
    ...(plugin.report ? { FIXTURE_REPORT: '1' } : {}),
    ...(plugin.exit ? { FIXTURE_EXIT: '1' } : {}),
  };
}

/** What the app prints with or without the agent. */
function expectedStdout(plugin: Plugin): string {
  return [plugin.first, plugin.handshake === 'none' ? undefined : plugin.handshake]
    .filter((line) => line !== undefined)
    .map((line) => `${line}\n`)
    .join('')
    .concat(AFTER);
}

/** Runs the plugin under the agent as a go-plugin host would launch it, and collects what its process exported. */
async function runPlugin(run: AgentRun, plugin: Plugin, role: 'plugin' | 'none' = 'plugin'): Promise<Run> {
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  let pid: number | undefined;
  const result = await runApp({
    runtime: run.runtime,
    loader: run.loader,
    script: script(run),
    onSpawn: (child) => {
      pid = child.pid;
    },
    env: {
      ...pluginEnvironment(plugin),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_LOGS_EXPORTER: 'none',
      ...(plugin.noParent
        ? {}
        : { TRACEPARENT: `00-${traceId}-${parentSpanId}-01`, TRACESTATE: 'host=launch', BAGGAGE: 'tenant=blue' }),
      RPCPLUGIN_MAGIC_COOKIE_KEY: 'BASIC_PLUGIN',
      BASIC_PLUGIN: COOKIE,
      PLUGIN_MAGIC_COOKIE: DEFAULT_KEY_COOKIE,
      // What go-plugin sets, and so what makes RPCPLUGIN_ROLE=auto choose plugin.
      ...(role === 'plugin'
        ? { PLUGIN_PROTOCOL_VERSIONS: '5', PLUGIN_MIN_PORT: '10000', PLUGIN_MAX_PORT: '25000' }
        : {}),
    },
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  const ours = (resource: Record<string, unknown>) => resource['process.pid'] === pid;
  return {
    result,
    spans: receiver.spans().filter((span) => ours(span.resource)),
    metrics: receiver.metrics().filter((metric) => ours(metric.resource)),
    traceId,
    parentSpanId,
  };
}

function startSpan(run: Run): ReceivedSpan {
  const spans = run.spans.filter((span) => span.name === START_SPAN);
  assert.equal(spans.length, 1, `one ${START_SPAN} span; stderr:\n${run.result.stderr}`);
  return spans[0] as ReceivedSpan;
}

function decodedText(): string {
  return JSON.stringify(receiver.requests, (_key, value: unknown) =>
    typeof value === 'bigint'
      ? value.toString()
      : value instanceof Uint8Array
        ? Buffer.from(value).toString('latin1')
        : value,
  );
}

for (const run of AGENT_RUNS) {
  const title = `${run.runtime} ${run.loader.name} (${run.format})`;
  describe(`plugin start span: ${title}`, () => {
    test('a child of TRACEPARENT, ended by the handshake line, with its attributes and the duration histogram', async () => {
      const plugin: Plugin = { writer: 'write', handshake: HANDSHAKE };
      const observed = await runPlugin(run, plugin);
      assert.equal(observed.result.stdout.toString('latin1'), expectedStdout(plugin));
      assert.equal(observed.result.stderr, '');

      const span = startSpan(observed);
      assert.equal(span.traceId, observed.traceId);
      assert.equal(span.parentSpanId, observed.parentSpanId);
      assert.equal(span.traceState, 'host=launch');
      assert.equal(span.kind, SpanKind.INTERNAL);
      assert.equal(span.status.code, StatusCode.UNSET);
      assert.equal(span.scope.name, 'rpcplugin-telemetry/plugin');
      assert.deepEqual(span.attributes, {
        'rpcplugin.role': 'plugin',
        'rpcplugin.handshake.core_protocol_version': 1,
        'rpcplugin.handshake.app_protocol_version': 5,
        'rpcplugin.handshake.transport': 'tcp',
        'rpcplugin.handshake.protocol': 'grpc',
        'rpcplugin.handshake.tls': false,
        'rpcplugin.handshake.multiplex': false,
      });
      assert.ok(span.startTimeUnixNano < span.endTimeUnixNano);

      const durations = observed.metrics.filter((metric) => metric.name === DURATION);
      assert.equal(durations.length, 1, `one ${DURATION} metric; got ${observed.metrics.map((m) => m.name)}`);
      const metric = durations[0] as ReceivedMetric;
      assert.equal(metric.type, 'histogram');
      assert.equal(metric.unit, 's');
      assert.equal(metric.dataPoints.length, 1);
      const point = metric.dataPoints[0];
      assert.equal(point?.count, 1);
      assert.deepEqual(point?.attributes, {
        'rpcplugin.handshake.transport': 'tcp',
        'rpcplugin.handshake.protocol': 'grpc',
      });
      assert.ok((point?.sum ?? 0) > 0, `a positive duration, got ${point?.sum}`);

      const decoded = decodedText();
      assert.ok(!decoded.includes(COOKIE), 'the cookie (RPCPLUGIN_MAGIC_COOKIE_KEY=BASIC_PLUGIN) was exported');
      assert.ok(!decoded.includes(DEFAULT_KEY_COOKIE), 'the PLUGIN_MAGIC_COOKIE value was exported');
    });

    test('console.log, TLS and multiplexing; something else first: one warning, stdout unchanged', async () => {
      const plugin: Plugin = { writer: 'console', first: FIRST_LINE, handshake: TLS_MUX_HANDSHAKE };
      const observed = await runPlugin(run, plugin);
      assert.equal(observed.result.stdout.toString('latin1'), expectedStdout(plugin));
      assert.equal(observed.result.stderr, WRONG_FIRST_LINE_WARNING);
      const span = startSpan(observed);
      assert.equal(span.traceId, observed.traceId);
      assert.equal(span.parentSpanId, observed.parentSpanId);
      assert.equal(span.attributes['rpcplugin.handshake.transport'], 'unix');
      assert.equal(span.attributes['rpcplugin.handshake.app_protocol_version'], 2);
      assert.equal(span.attributes['rpcplugin.handshake.tls'], true);
      assert.equal(span.attributes['rpcplugin.handshake.multiplex'], true);
      assert.ok(!decodedText().includes('MIIBkTCB'), 'the certificate of the handshake line was exported');
    });

    for (const exit of [false, true]) {
      // The process.exit() run also has no TRACEPARENT: its start span is the root of a trace of its own.
      const how = exit ? 'process.exit(), without TRACEPARENT, as a root span' : 'the natural end';
      test(`no handshake: the start span ends at ${how} with an error status`, async () => {
        const plugin: Plugin = { writer: 'write', handshake: 'none', exit, noParent: exit };
        const observed = await runPlugin(run, plugin);
        assert.equal(observed.result.stdout.toString('latin1'), expectedStdout(plugin));
        const span = startSpan(observed);
        if (exit) {
          assert.equal(span.parentSpanId, '');
          assert.notEqual(span.traceId, observed.traceId);
        } else {
          assert.equal(span.traceId, observed.traceId);
          assert.equal(span.parentSpanId, observed.parentSpanId);
        }
        assert.deepEqual(span.status, {
          code: StatusCode.ERROR,
          message: 'the plugin ended before it wrote a go-plugin handshake line on stdout',
        });
        assert.equal(observed.metrics.filter((metric) => metric.name === DURATION).length, 0);
      });
    }

    test('not in the plugin role: no start span, no histogram, no warning', async () => {
      const plugin: Plugin = { writer: 'console', first: FIRST_LINE, handshake: HANDSHAKE };
      const observed = await runPlugin(run, plugin, 'none');
      assert.equal(observed.result.stdout.toString('latin1'), expectedStdout(plugin));
      assert.equal(observed.result.stderr, '');
      assert.equal(observed.spans.filter((span) => span.name === START_SPAN).length, 0);
      // The process exported its metrics (the agent ran), but none of the handshake.
      assert.ok(observed.metrics.length > 0, 'the agent exported no metrics at all');
      assert.equal(observed.metrics.filter((metric) => metric.name === DURATION).length, 0);
    });

    for (const wrap of [false, true]) {
      const what = wrap
        ? "an app's own stdout wrapper, made before the handshake, stays and keeps working"
        : "process.stdout.write and console.log are the runtime's own again";
      test(`after the handshake, ${what}`, async () => {
        const plugin: Plugin = { writer: 'console', handshake: HANDSHAKE, wrap, report: true };
        const observed = await runPlugin(run, plugin);
        const bare = await runApp({ runtime: run.runtime, script: script(run), env: pluginEnvironment(plugin) });
        assert.match(
          bare.stderr,
          wrap ? /^process\.stdout\.write: appWrite .* saw [1-9]\d* bytes\n$/ : /saw 0 bytes\n$/,
        );
        assert.equal(observed.result.stderr, bare.stderr);
        assert.equal(observed.result.stdout.toString('latin1'), expectedStdout(plugin));
        assert.equal(startSpan(observed).attributes['rpcplugin.handshake.transport'], 'tcp');
      });
    }

    test('the app alone prints the same bytes', async () => {
      for (const plugin of [
        { writer: 'write', handshake: HANDSHAKE },
        { writer: 'console', first: FIRST_LINE, handshake: TLS_MUX_HANDSHAKE },
      ] satisfies Plugin[]) {
        const bare = await runApp({ runtime: run.runtime, script: script(run), env: pluginEnvironment(plugin) });
        assert.equal(bare.stdout.toString('latin1'), expectedStdout(plugin));
      }
    });
  });
}
