import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const cli = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url));
const run = promisify(execFile);

interface CliRun {
  stdout: string;
  stderr: string;
  code: number;
}

async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

// Every variable of the configuration contract (docs/configuration.md).
const OTLP_SETTINGS = [
  'ENDPOINT',
  'PROTOCOL',
  'HEADERS',
  'TIMEOUT',
  'COMPRESSION',
  'CERTIFICATE',
  'CLIENT_KEY',
  'CLIENT_CERTIFICATE',
];
const DESIGN_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_LOG_LEVEL',
  'OTEL_PROPAGATORS',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_TRACES_EXPORTER',
  'OTEL_METRICS_EXPORTER',
  'OTEL_LOGS_EXPORTER',
  ...['', 'TRACES_', 'METRICS_', 'LOGS_'].flatMap((signal) =>
    OTLP_SETTINGS.map((setting) => `OTEL_EXPORTER_OTLP_${signal}${setting}`),
  ),
  'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
  ...['OTEL_BSP_', 'OTEL_BLRP_'].flatMap((prefix) =>
    ['SCHEDULE_DELAY', 'EXPORT_TIMEOUT', 'MAX_QUEUE_SIZE', 'MAX_EXPORT_BATCH_SIZE'].map((name) => `${prefix}${name}`),
  ),
  'OTEL_METRIC_EXPORT_INTERVAL',
  'OTEL_METRIC_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_PROMETHEUS_HOST',
  'OTEL_EXPORTER_PROMETHEUS_PORT',
  'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_SPAN_EVENT_COUNT_LIMIT',
  'OTEL_SPAN_LINK_COUNT_LIMIT',
  'OTEL_SEMCONV_STABILITY_OPT_IN',
  'TRACEPARENT',
  'TRACESTATE',
  'BAGGAGE',
  'RPCPLUGIN_TELEMETRY',
  'RPCPLUGIN_INSTRUMENTATIONS',
  'RPCPLUGIN_STRICT',
  'RPCPLUGIN_ROLE',
  'RPCPLUGIN_MAGIC_COOKIE_KEY',
  'RPCPLUGIN_GRPC_CAPTURE_METADATA',
  'RPCPLUGIN_SHUTDOWN_TIMEOUT',
];

function rowOf(stdout: string, name: string): string[] {
  const line = stdout.split('\n').find((candidate) => candidate.trimStart().startsWith(`${name} `));
  assert.ok(line, `no row for ${name}`);
  return line.trim().split(/\s{2,}/);
}

test('env shows every variable of the configuration contract with a value and a source', async () => {
  const { stdout, stderr, code } = await runCli(['env']);
  assert.equal(code, 0);
  assert.equal(stderr, '');
  for (const name of DESIGN_VARIABLES) {
    const [, value, source] = rowOf(stdout, name);
    assert.ok(value, `${name} has no value column`);
    assert.match(source ?? '', /^(default|environment|derived)$/, `${name} source`);
  }
  assert.match(
    stdout,
    /^rpcplugin-telemetry configuration: telemetry enabled, role host \(auto: no go-plugin host variable is set\)$/m,
  );
  assert.match(stdout, /^No problems\.$/m);
});

test('env says where each value comes from: default, environment or derived', async () => {
  const { stdout } = await runCli(['env'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_BSP_SCHEDULE_DELAY: '250',
    PLUGIN_PROTOCOL_VERSIONS: '1',
  });
  assert.deepEqual(rowOf(stdout, 'OTEL_BSP_SCHEDULE_DELAY'), ['OTEL_BSP_SCHEDULE_DELAY', '250', 'environment']);
  assert.deepEqual(rowOf(stdout, 'OTEL_BSP_EXPORT_TIMEOUT'), ['OTEL_BSP_EXPORT_TIMEOUT', '30000', 'default']);
  assert.deepEqual(rowOf(stdout, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), [
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    'http://collector:4318/v1/traces',
    'derived',
  ]);
  assert.deepEqual(rowOf(stdout, 'RPCPLUGIN_ROLE'), ['RPCPLUGIN_ROLE', 'plugin', 'derived']);
});

test('env redacts secrets in values and in problems', async () => {
  const secret = 'S3CR3T-value-42';
  const { stdout, code } = await runCli(['env'], {
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${secret},${secret}`,
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment=prod,api.token=${secret}`,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `https://user:${secret}@collector:4318/v1/logs`,
    PLUGIN_MAGIC_COOKIE: secret,
  });
  assert.equal(code, 0);
  assert.ok(!stdout.includes(secret), stdout);
  assert.deepEqual(rowOf(stdout, 'OTEL_EXPORTER_OTLP_HEADERS'), [
    'OTEL_EXPORTER_OTLP_HEADERS',
    '[redacted]',
    'environment',
  ]);
  assert.deepEqual(rowOf(stdout, 'OTEL_RESOURCE_ATTRIBUTES'), [
    'OTEL_RESOURCE_ATTRIBUTES',
    'deployment.environment=prod,api.token=[redacted]',
    'environment',
  ]);
  assert.deepEqual(rowOf(stdout, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT'), [
    'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
    'https://[redacted]@collector:4318/v1/logs',
    'environment',
  ]);
  assert.match(
    stdout,
    /^ {2}- OTEL_EXPORTER_OTLP_HEADERS="\[redacted\]" has entry 2 without "=", which is ignored\. /m,
  );
});

test('env lists the problems after the table and exits 0 unless strict', async () => {
  const env = { OTEL_TRACES_SAMPLER: 'sometimes', OTEL_BSP_MAX_QUEUE_SIZE: '0' };
  const relaxed = await runCli(['env'], env);
  assert.equal(relaxed.code, 0);
  assert.match(relaxed.stdout, /^2 problems:$/m);
  assert.match(
    relaxed.stdout,
    /^ {2}- OTEL_TRACES_SAMPLER="sometimes" is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio\. Accepted: one of .*\. Using the default parentbased_always_on\.$/m,
  );
  assert.match(relaxed.stdout, /^ {2}- OTEL_BSP_MAX_QUEUE_SIZE="0" is below 1\. .* Using the default 2048\.$/m);

  assert.equal((await runCli(['env', '--strict'], env)).code, 1);
  assert.equal((await runCli(['env'], { ...env, RPCPLUGIN_STRICT: 'true' })).code, 1);
  assert.equal((await runCli(['env', '--strict'])).code, 0);
});

test('env --json gives settings and problems for machines', async () => {
  const { stdout, code } = await runCli(['env', '--json', '--strict'], {
    OTEL_PROPAGATORS: 'b3,xray',
    RPCPLUGIN_ROLE: 'host',
  });
  assert.equal(code, 1);
  const document = JSON.parse(stdout) as {
    enabled: boolean;
    role: string;
    strict: boolean;
    settings: { name: string; value: string; source: string; group: string }[];
    problems: { variable: string; value: string; issue: string; using: string; message: string }[];
  };
  assert.equal(document.enabled, true);
  assert.equal(document.role, 'host');
  assert.equal(document.strict, true);
  assert.deepEqual(
    document.settings.find((setting) => setting.name === 'OTEL_PROPAGATORS'),
    { name: 'OTEL_PROPAGATORS', value: 'b3', source: 'environment', group: 'Context propagation' },
  );
  assert.deepEqual(
    document.problems.map((problem) => problem.message),
    [
      'OTEL_PROPAGATORS="b3,xray" has an unknown entry "xray", which is ignored. Accepted: a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case). Using b3.',
    ],
  );
  for (const name of DESIGN_VARIABLES) {
    assert.ok(
      document.settings.some((setting) => setting.name === name),
      name,
    );
  }
});

test('the command rejects unknown commands and options on stderr with exit code 2', async () => {
  const command = await runCli(['envv']);
  assert.equal(command.code, 2);
  assert.equal(command.stdout, '');
  assert.match(command.stderr, /^rpcplugin-telemetry: unknown command: envv\n\nUsage: rpcplugin-telemetry <command>/);
  const option = await runCli(['env', '--yaml']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /^rpcplugin-telemetry: unknown option for env: --yaml\n/);
  const version = await runCli(['--version']);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});
