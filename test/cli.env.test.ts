import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

async function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      cwd,
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

/**
 * The row of `name` as [name, value, source]: one line, or, when the value is too long for its
 * column, the name and source on one line and the value on the indented lines below.
 */
function rowOf(stdout: string, name: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((candidate) => candidate.startsWith(`  ${name} `));
  assert.ok(at >= 0, `no row for ${name}`);
  const cells = (lines[at] ?? '').trim().split(/\s{2,}/);
  if (cells.length === 3) return cells;
  const continued: string[] = [];
  for (let next = at + 1; lines[next]?.startsWith('      '); next++) continued.push((lines[next] ?? '').slice(6));
  return [cells[0] ?? '', continued.join(''), cells[1] ?? ''];
}

/** The problems' text with each one's wrapped lines joined again. */
function unwrapped(stdout: string): string {
  return stdout.replace(/\n {4}(?=\S)/g, ' ');
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
    /^rpcplugin-telemetry configuration: telemetry enabled, role host \(auto: no\n {4}go-plugin host variable is set\)$/m,
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
  const { stdout: wrapped, code } = await runCli(['env'], {
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${secret},${secret}`,
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment=prod,api.token=${secret}`,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `https://user:${secret}@collector:4318/v1/logs`,
    PLUGIN_MAGIC_COOKIE: secret,
  });
  assert.equal(code, 0);
  const stdout = unwrapped(wrapped);
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
  const stdout = unwrapped(relaxed.stdout);
  assert.match(stdout, /^2 problems:$/m);
  assert.match(
    stdout,
    /^ {2}- OTEL_TRACES_SAMPLER="sometimes" is not a known value\. Accepted: one of .*\. Using the default parentbased_always_on\.$/m,
  );
  assert.match(stdout, /^ {2}- OTEL_BSP_MAX_QUEUE_SIZE="0" is below 1\. .* Using the default 2048\.$/m);

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
  assert.match(option.stderr, /^rpcplugin-telemetry env: unknown option: --yaml\n\nUsage: rpcplugin-telemetry env /);
  const version = await runCli(['--version']);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});

/** Every line of `text` that is wider than `width`. */
function widerThan(text: string, width: number): string[] {
  return text.split('\n').filter((line) => line.length > width);
}

test('env fits 80 columns, or COLUMNS, long values and problems included', async () => {
  const env = {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `https://collector.example.com:4318/${'long-path/'.repeat(12)}v1/traces`,
    OTEL_RESOURCE_ATTRIBUTES:
      'deployment.environment=production,service.namespace=plugins,host.role=terraform-provider',
    OTEL_TRACES_SAMPLER: 'sometimes',
  };
  const narrow = await runCli(['env'], env);
  assert.deepEqual(widerThan(narrow.stdout, 80), []);
  assert.deepEqual(rowOf(narrow.stdout, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), [
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    'environment',
  ]);
  const wide = await runCli(['env'], { ...env, COLUMNS: '120' });
  assert.deepEqual(widerThan(wide.stdout, 120), []);
  assert.match(
    wide.stdout,
    /^rpcplugin-telemetry configuration: telemetry enabled, role host \(auto: no go-plugin host variable is set\)$/m,
  );
  assert.ok(wide.stdout.split('\n').length < narrow.stdout.split('\n').length);
});

test('the sampler problem names the accepted values once, in plain words', async () => {
  const { stdout } = await runCli(['env', '--changed'], { OTEL_TRACES_SAMPLER: 'sometimes', COLUMNS: '300' });
  assert.equal(
    stdout.split('\n').find((line) => line.startsWith('  - ')),
    '  - OTEL_TRACES_SAMPLER="sometimes" is not a known value. Accepted: one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio (any case). Using the default parentbased_always_on.',
  );
});

test('env --changed shows only what differs from the defaults', async () => {
  const changed = await runCli(['env', '--changed'], { OTEL_BSP_SCHEDULE_DELAY: '250', PLUGIN_PROTOCOL_VERSIONS: '1' });
  assert.equal(changed.code, 0);
  const names = changed.stdout
    .split('\n')
    .filter((line) => /^ {2}[A-Z]/.test(line) && !line.startsWith('  VARIABLE'))
    .map((line) => line.trim().split(/\s+/)[0]);
  // The plugin role (from go-plugin's variable) shortens the shutdown timeout.
  assert.deepEqual(names, ['RPCPLUGIN_SHUTDOWN_TIMEOUT', 'OTEL_BSP_SCHEDULE_DELAY', 'RPCPLUGIN_ROLE']);
  assert.deepEqual(rowOf(changed.stdout, 'RPCPLUGIN_ROLE'), ['RPCPLUGIN_ROLE', 'plugin', 'derived']);

  const none = await runCli(['env', '--changed']);
  assert.match(none.stdout, /^Every setting has its default value\.$/m);
  const json = JSON.parse((await runCli(['env', '--changed', '--json'], { OTEL_LOG_LEVEL: 'debug' })).stdout) as {
    settings: { name: string }[];
  };
  assert.deepEqual(
    json.settings.map((setting) => setting.name),
    ['OTEL_LOG_LEVEL'],
  );
});

test('env shows the service name the package.json here gives, where OTEL_SERVICE_NAME is unset', async () => {
  const app = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-env-'));
  try {
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kv-plugin', version: '1.2.3' }));
    const { stdout } = await runCli(['env'], { COLUMNS: '120' }, app);
    assert.deepEqual(rowOf(stdout, 'OTEL_SERVICE_NAME'), [
      'OTEL_SERVICE_NAME',
      'unset: kv-plugin from package.json',
      'default',
    ]);
    const named = await runCli(['env'], { COLUMNS: '120', OTEL_SERVICE_NAME: 'billing' }, app);
    assert.deepEqual(rowOf(named.stdout, 'OTEL_SERVICE_NAME'), ['OTEL_SERVICE_NAME', 'billing', 'environment']);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

test('every command has --help, on stdout with exit 0; the top-level help lists them', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^Commands:\n {2}env {3}Show .*\n {2}run {3}Run .*\n {2}tail {2}Receive .*\n\n/m);
  for (const command of ['env', 'run', 'tail']) {
    for (const args of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]) {
      const help = await runCli(args);
      assert.equal(help.code, 0, args.join(' '));
      assert.equal(help.stderr, '');
      assert.match(help.stdout, new RegExp(`^Usage: rpcplugin-telemetry ${command} `), args.join(' '));
      // tail's help is its own (src/cli/tail-command.ts), wider than 80 columns in places.
      if (command !== 'tail') assert.deepEqual(widerThan(help.stdout, 80), [], args.join(' '));
    }
  }
  assert.deepEqual(widerThan(top.stdout, 80), []);
});
