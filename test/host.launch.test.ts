/**
 * The host role's launch span, on every AGENT_RUNS row: a small host (test/fixtures/host/launch-app.*)
 * launches a "plugin" (`sh -c ...`) the go-plugin way, with the cookie, protocol versions and port
 * range in its environment and stdout piped; the built preload runs the host and a real OTLP
 * receiver decodes what it exports. The host reads the child's stdout flowing, paused, piped or by
 * read(): what it reads must be byte for byte what it reads without the agent. See docs/host.md.
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

const LAUNCH_SPAN = 'rpcplugin.plugin.launch';
const DURATION = 'rpcplugin.plugin.launch.duration';
const HANDSHAKE = '1|3|unix|/tmp/plugin-launch-test/plugin.sock|grpc|';
// Waits on its stdin, which the host closes once it has read END (or stdout ended).
const HANDSHAKING_CHILD = `sleep 0.2; printf '${HANDSHAKE}\\n'; printf 'END\\n'; read line`;
// The handshake, then bytes that are not UTF-8, in several writes.
const CHATTY_CHILD = `printf '${HANDSHAKE}\\n'; sleep 0.1; printf '\\000\\001\\377\\303(\\r\\n'; sleep 0.1; printf 'tail END'; read line`;
const COOKIE = `cookie-${randomBytes(8).toString('hex')}`;

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

interface Launched {
  readonly result: RunResult;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  /** The child's pid as the host saw it. */
  readonly childPid: number | undefined;
}

function script(run: AgentRun): string {
  return fixture(`host/launch-app.${run.format === 'cjs' ? 'cjs' : 'mjs'}`);
}

function hostEnvironment(child: string, read = 'flowing', command?: string): Record<string, string> {
  return {
    FIXTURE_CHILD: child,
    FIXTURE_READ: read,
    FIXTURE_COOKIE: COOKIE,
    ...(command === undefined ? {} : { FIXTURE_COMMAND: command }),
  };
}

async function launch(run: AgentRun, env: Record<string, string>): Promise<Launched> {
  let pid: number | undefined;
  const result = await runApp({
    runtime: run.runtime,
    loader: run.loader,
    script: script(run),
    onSpawn: (child) => {
      pid = child.pid;
    },
    env: {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_LOGS_EXPORTER: 'none',
      RPCPLUGIN_MAGIC_COOKIE_KEY: 'BASIC_PLUGIN',
    },
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  const ours = (resource: Record<string, unknown>) => resource['process.pid'] === pid;
  const childPid = /app: child pid (\d+)/.exec(result.stderr)?.[1];
  return {
    result,
    spans: receiver.spans().filter((span) => ours(span.resource)),
    metrics: receiver.metrics().filter((metric) => ours(metric.resource)),
    childPid: childPid === undefined ? undefined : Number(childPid),
  };
}

function launchSpan(launched: Launched): ReceivedSpan {
  const spans = launched.spans.filter((span) => span.name === LAUNCH_SPAN);
  assert.equal(spans.length, 1, `one ${LAUNCH_SPAN} span; stderr:\n${launched.result.stderr}`);
  return spans[0] as ReceivedSpan;
}

function durationPoints(launched: Launched) {
  const metrics = launched.metrics.filter((metric) => metric.name === DURATION);
  assert.equal(metrics.length, 1, `one ${DURATION} metric; got ${launched.metrics.map((metric) => metric.name)}`);
  const metric = metrics[0] as ReceivedMetric;
  assert.equal(metric.type, 'histogram');
  assert.equal(metric.unit, 's');
  return metric.dataPoints;
}

for (const run of AGENT_RUNS) {
  describe(`host role, plugin launch span: ${run.runtime} ${run.loader.name} (${run.format})`, () => {
    test('from the launch to the handshake line, with its attributes, the child command and pid, and the duration', async () => {
      const launched = await launch(run, hostEnvironment(HANDSHAKING_CHILD));
      assert.equal(launched.result.stdout.toString('latin1'), `${HANDSHAKE}\nEND\n`);
      const span = launchSpan(launched);
      assert.equal(span.kind, SpanKind.INTERNAL);
      assert.equal(span.scope.name, 'rpcplugin-telemetry/host');
      assert.equal(span.parentSpanId, '', 'no span was active in the host: the launch is a root');
      assert.equal(span.status.code, StatusCode.UNSET);
      assert.deepEqual(span.attributes, {
        'rpcplugin.role': 'host',
        'process.command': 'sh',
        'process.pid': launched.childPid,
        'rpcplugin.handshake.core_protocol_version': 1,
        'rpcplugin.handshake.app_protocol_version': 3,
        'rpcplugin.handshake.transport': 'unix',
        'rpcplugin.handshake.protocol': 'grpc',
        'rpcplugin.handshake.tls': false,
        'rpcplugin.handshake.multiplex': false,
      });
      // The child sleeps 0.2 s before its handshake: the span cannot be shorter.
      assert.ok(span.endTimeUnixNano - span.startTimeUnixNano >= 200_000_000n, 'the span ended before the handshake');

      const [point, ...others] = durationPoints(launched);
      assert.equal(others.length, 0);
      assert.equal(point?.count, 1);
      assert.deepEqual(point?.attributes, {
        'rpcplugin.handshake.transport': 'unix',
        'rpcplugin.handshake.protocol': 'grpc',
      });
      assert.ok((point?.sum ?? 0) >= 0.2, `the duration covers the child's 0.2 s, got ${point?.sum}`);
      const decoded = JSON.stringify(receiver.requests, (_key, value: unknown) =>
        typeof value === 'bigint'
          ? value.toString()
          : value instanceof Uint8Array
            ? Buffer.from(value).toString('latin1')
            : value,
      );
      assert.ok(!decoded.includes(COOKIE), 'the cookie was exported');
    });

    const failures: { what: string; child: string; command?: string; exit?: boolean; type: string; message: RegExp }[] =
      [
        {
          what: 'the child exits first',
          child: 'sleep 1 & exit 3',
          type: 'exit',
          message: /^the plugin exited \(code 3\) before its handshake line$/,
        },
        {
          what: 'the first line is something else',
          child: "printf 'starting up\\nEND\\n'; read line",
          type: 'not_handshake',
          message: /^the plugin's first stdout line is not a go-plugin handshake line$/,
        },
        {
          what: 'stdout closes first',
          child: 'exec 1>&-; read line',
          type: 'stdout_closed',
          message: /^the plugin's stdout closed before its handshake line$/,
        },
        {
          what: 'the command does not exist',
          child: '',
          command: '/nonexistent/plugin',
          type: 'error',
          message: /ENOENT/,
        },
        {
          what: 'the host calls process.exit() first',
          child: 'exec sleep 5',
          exit: true,
          type: 'host_ended',
          message: /^the host ended before the plugin wrote its handshake line$/,
        },
      ];
    for (const failure of failures) {
      test(`${failure.what}: the launch span ends with an error status`, async () => {
        const env = hostEnvironment(failure.child, 'flowing', failure.command);
        const launched = await launch(run, failure.exit ? { ...env, FIXTURE_EXIT: '1' } : env);
        const span = launchSpan(launched);
        assert.equal(span.status.code, StatusCode.ERROR);
        assert.match(span.status.message, failure.message);
        assert.equal(span.attributes['error.type'], failure.type);
        assert.equal(span.attributes['rpcplugin.handshake.transport'], undefined);
        // Metrics recorded since the last export are not sent at process.exit() (README).
        if (failure.exit) return;
        const [point] = durationPoints(launched);
        assert.deepEqual(point?.attributes, { 'error.type': failure.type });
      });
    }

    test('the host reads the same bytes, flowing, paused, piped or by read(), as without the agent', async () => {
      for (const read of ['flowing', 'paused', 'pipe', 'read']) {
        const env = hostEnvironment(CHATTY_CHILD, read);
        const launched = await launch(run, env);
        const bare = await runApp({ runtime: run.runtime, script: script(run), env });
        assert.equal(bare.exitCode, 0, bare.stderr);
        assert.deepEqual(launched.result.stdout, bare.stdout, read);
        assert.equal(bare.stdout.toString('latin1'), `${HANDSHAKE}\n\x00\x01\xff\xc3(\r\ntail END`, read);
        assert.equal(launchSpan(launched).attributes['rpcplugin.handshake.transport'], 'unix', read);
        receiver.clear();
      }
    });
  });
}
