/**
 * Every exporter and every log level leaves stdout alone (issue 11, part 4): an app that writes a
 * go-plugin-like handshake line, non-ASCII and control characters, a 1 MiB write and a line without
 * a newline gives exactly the bytes of its bare run under the agent, whatever OTEL_*_EXPORTER and
 * OTEL_LOG_LEVEL say, on Node 24 (ES module and CommonJS), Bun and Deno.
 *
 * The matrix is pairwise, not the full cross product: each row runs one case per log level (7), and
 * the case's traces, metrics and logs exporters turn round their lists (otlp over http/protobuf,
 * http/json and grpc; console; prometheus for metrics; none) at different offsets, so that on every
 * row each level is run once and each exporter value at least once per signal. Each case also checks
 * that the telemetry went where it was told: the receivers decode what otlp sent, the console
 * exporters' OTLP/JSON lines are on stderr, and none sends nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { closedPort, type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

const ROWS: readonly AgentRun[] = AGENT_RUNS.filter((row) => ['node24', 'bun', 'deno'].includes(row.runtime));
const LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;
const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
type Protocol = (typeof PROTOCOLS)[number];
type Exporter = { readonly otlp: Protocol } | 'console' | 'prometheus' | 'none';

const OTLP: readonly Exporter[] = PROTOCOLS.map((otlp) => ({ otlp }));
const TRACES_EXPORTERS: readonly Exporter[] = [...OTLP, 'console', 'none'];
const METRICS_EXPORTERS: readonly Exporter[] = [...OTLP, 'console', 'prometheus', 'none'];
const LOGS_EXPORTERS: readonly Exporter[] = [...OTLP, 'console', 'none'];

const SPAN = 'faults.stdout-work';
const COUNTER = 'faults.stdout.counter';
const LOG_BODY = 'faults stdout record';
const APP_EXIT_CODE = '4';

type Signal = 'traces' | 'metrics' | 'logs';
const SIGNAL_KEYS: Readonly<Record<Signal, string>> = {
  traces: 'resourceSpans',
  metrics: 'resourceMetrics',
  logs: 'resourceLogs',
};

interface Case {
  readonly level: (typeof LOG_LEVELS)[number];
  readonly exporters: Readonly<Record<Signal, Exporter>>;
}

const CASES: readonly Case[] = LOG_LEVELS.map((level, index) => ({
  level,
  exporters: {
    traces: TRACES_EXPORTERS[index % TRACES_EXPORTERS.length] as Exporter,
    metrics: METRICS_EXPORTERS[(index + 1) % METRICS_EXPORTERS.length] as Exporter,
    logs: LOGS_EXPORTERS[(index + 2) % LOGS_EXPORTERS.length] as Exporter,
  },
}));

const nameOf = (exporter: Exporter) => (typeof exporter === 'string' ? exporter : `otlp ${exporter.otlp}`);

let http: OtlpReceiver;
let grpc: OtlpGrpcReceiver;
before(async () => {
  [http, grpc] = await Promise.all([startOtlpReceiver(), startOtlpGrpcReceiver()]);
});
after(async () => {
  await Promise.all([http.close(), grpc.close()]);
});

function scriptOf(row: AgentRun): string {
  return fixture(`faults/stdout-app.${row.format === 'esm' ? 'mjs' : 'cjs'}`);
}

async function environmentOf(service: string, { level, exporters }: Case): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    OTEL_SERVICE_NAME: service,
    OTEL_LOG_LEVEL: level,
    APP_EXIT_CODE,
    // Another run's Prometheus endpoint must not take this one's port.
    OTEL_EXPORTER_PROMETHEUS_PORT: String(await closedPort()),
  };
  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    const exporter = exporters[signal];
    const upper = signal.toUpperCase();
    env[`OTEL_${upper}_EXPORTER`] = typeof exporter === 'string' ? exporter : 'otlp';
    if (typeof exporter === 'string') continue;
    env[`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`] = exporter.otlp;
    env[`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`] = exporter.otlp === 'grpc' ? grpc.url : `${http.url}/v1/${signal}`;
  }
  return env;
}

function explain(run: RunResult): string {
  return `${run.command}\nexit ${run.exitCode} signal ${run.signal}\nstderr:\n${run.stderr}`;
}

/** What was decoded from `service` sent with `protocol`, by signal: the names the app recorded. */
function receivedNames(service: string, protocol: Protocol): Record<Signal, string[]> {
  const encoding = protocol === 'http/json' ? 'json' : 'protobuf';
  const requests = http.requests.filter((request) => request.encoding === encoding);
  const received =
    protocol === 'grpc'
      ? { spans: grpc.spans(), metrics: grpc.metrics(), logs: grpc.logs() }
      : {
          spans: requests.flatMap((request) => request.spans),
          metrics: requests.flatMap((request) => request.metrics),
          logs: requests.flatMap((request) => request.logs),
        };
  const ofService = <T extends { resource: Record<string, unknown> }>(items: T[]) =>
    items.filter((item) => item.resource['service.name'] === service);
  return {
    traces: ofService(received.spans).map((span) => span.name),
    metrics: ofService(received.metrics).map((metric) => metric.name),
    logs: ofService(received.logs).map((record) => String(record.body)),
  };
}

const RECORDED: Readonly<Record<Signal, string>> = { traces: SPAN, metrics: COUNTER, logs: LOG_BODY };

/** Where each signal went matches its exporter: decoded by a receiver, on stderr as OTLP/JSON, or nowhere. */
function assertDelivered(service: string, { exporters }: Case, run: RunResult): void {
  const consoleLines = run.stderr.split('\n').filter((line) => line.startsWith('{"resource'));
  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    const exporter = exporters[signal];
    const context = `${signal} with ${nameOf(exporter)}\n${explain(run)}`;
    const onStderr = consoleLines.filter((line) => line.startsWith(`{"${SIGNAL_KEYS[signal]}"`));
    if (exporter === 'console') {
      assert.ok(
        onStderr.some((line) => line.includes(JSON.stringify(RECORDED[signal]))),
        `on stderr as OTLP/JSON: ${context}`,
      );
    } else {
      assert.deepEqual(onStderr, [], `nothing on stderr: ${context}`);
    }
    for (const protocol of PROTOCOLS) {
      const names = receivedNames(service, protocol)[signal];
      const sent = typeof exporter !== 'string' && exporter.otlp === protocol;
      assert.equal(names.includes(RECORDED[signal]), sent, `${protocol} receiver: ${names.join(', ')}; ${context}`);
    }
  }
}

/** The stderr lines that are neither the agent's nor the console exporters' nor the app's pino record. */
function foreignLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(
      (line) =>
        line !== '' &&
        !line.startsWith('rpcplugin-telemetry: ') &&
        !line.startsWith('{"resource') &&
        !line.includes(`"msg":"${LOG_BODY}"`),
    );
}

describe('stdout is byte-identical under every exporter and log level (pairwise matrix)', { concurrency: 2 }, () => {
  for (const row of ROWS) {
    let bare: Promise<RunResult>;
    before(() => {
      bare = runApp({ runtime: row.runtime, script: scriptOf(row), env: { APP_EXIT_CODE } });
    });
    for (const testCase of CASES) {
      const { level, exporters } = testCase;
      const described = `traces ${nameOf(exporters.traces)}, metrics ${nameOf(exporters.metrics)}, logs ${nameOf(exporters.logs)}`;
      test(`${row.runtime} ${row.loader.name} ${row.format}: OTEL_LOG_LEVEL=${level}, ${described}`, async () => {
        const service = `faults-stdout-${row.runtime}-${row.format}-${level}`;
        const run = await runApp({
          runtime: row.runtime,
          loader: row.loader,
          script: scriptOf(row),
          env: await environmentOf(service, testCase),
        });
        const reference = await bare;
        assert.equal(reference.exitCode, Number(APP_EXIT_CODE), `the bare run\n${explain(reference)}`);
        assert.ok(reference.stdout.length > 1024 * 1024, 'the bare run wrote its 1 MiB');
        assert.ok(run.stdout.equals(reference.stdout), `stdout differs from the bare run's\n${explain(run)}`);
        assert.equal(run.exitCode, Number(APP_EXIT_CODE), explain(run));
        assert.equal(run.signal, null, explain(run));
        assert.deepEqual(
          foreignLines(run.stderr),
          [],
          `only the agent's, the exporters' and the app's lines\n${explain(run)}`,
        );
        assert.doesNotMatch(run.stderr, /Uncaught|\n\s+at /, explain(run));
        assertDelivered(service, testCase, run);
      });
    }
  }
});
