/**
 * Rules that join variables (src/env/derive.ts): OTLP endpoints and per-signal inheritance, limits
 * that may not exceed others, the plugin role, switches, and the one problem report of a start.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deriveConfig, type ResolvedVariables } from '../src/env/derive.ts';
import {
  type Config,
  definitionOf,
  describeProblem,
  type EnvSource,
  formatProblemReport,
  type LoadedConfig,
  loadConfig,
  type SettingSource,
  VARIABLE_NAMES,
  type VariableName,
} from '../src/env/index.ts';
import { REPO_ROOT } from './support/runtimes.ts';

const SIGNALS = ['traces', 'metrics', 'logs'] as const;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function setting(loaded: LoadedConfig, name: VariableName): { value: string; source: SettingSource } {
  const found = loaded.settings.find((entry) => entry.name === name);
  assert.ok(found, `no setting ${name}`);
  return { value: found.value, source: found.source };
}

const endpoints = (config: Config) => SIGNALS.map((signal) => config[signal].otlp.endpoint);
const messages = (loaded: LoadedConfig) => loaded.problems.map(describeProblem);

describe('OTLP endpoints', () => {
  // env → traces, metrics, logs endpoints
  const cases: readonly (readonly [string, EnvSource, readonly string[]])[] = [
    [
      'nothing set: localhost:4318 + /v1/{signal}',
      {},
      ['http://localhost:4318/v1/traces', 'http://localhost:4318/v1/metrics', 'http://localhost:4318/v1/logs'],
    ],
    [
      'generic endpoint without trailing slash gets /v1/{signal}',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      ['http://collector:4318/v1/traces', 'http://collector:4318/v1/metrics', 'http://collector:4318/v1/logs'],
    ],
    [
      'generic endpoint with trailing slash: no double slash',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' },
      ['http://collector:4318/v1/traces', 'http://collector:4318/v1/metrics', 'http://collector:4318/v1/logs'],
    ],
    [
      'generic endpoint with a path prefix keeps it',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gateway.example/otlp' },
      [
        'https://gateway.example/otlp/v1/traces',
        'https://gateway.example/otlp/v1/metrics',
        'https://gateway.example/otlp/v1/logs',
      ],
    ],
    [
      'generic endpoint with a path prefix and trailing slash',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gateway.example/otlp/' },
      [
        'https://gateway.example/otlp/v1/traces',
        'https://gateway.example/otlp/v1/metrics',
        'https://gateway.example/otlp/v1/logs',
      ],
    ],
    [
      "a signal's own endpoint is used as is, the others still derive from the generic one",
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9999/custom',
      },
      ['http://t:9999/custom', 'http://collector:4318/v1/metrics', 'http://collector:4318/v1/logs'],
    ],
    [
      "a signal's own endpoint without a path gets no /v1/{signal}",
      { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318' },
      ['http://localhost:4318/v1/traces', 'http://m:4318/', 'http://localhost:4318/v1/logs'],
    ],
    [
      'grpc: default http://localhost:4317/, no suffix',
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      ['http://localhost:4317/', 'http://localhost:4317/', 'http://localhost:4317/'],
    ],
    [
      'grpc: the generic endpoint is used as is',
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317/otlp' },
      ['http://collector:4317/otlp', 'http://collector:4317/otlp', 'http://collector:4317/otlp'],
    ],
    [
      'grpc for one signal only: its default is 4317, the others 4318 + /v1/{signal}',
      { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'GRPC' },
      ['http://localhost:4318/v1/traces', 'http://localhost:4317/', 'http://localhost:4318/v1/logs'],
    ],
    [
      'http for one signal under a grpc generic protocol appends /v1/{signal} for that signal only',
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      },
      ['http://collector:4317/', 'http://collector:4317/', 'http://collector:4317/v1/logs'],
    ],
    [
      'an invalid generic endpoint falls back to the default',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      ['http://localhost:4318/v1/traces', 'http://localhost:4318/v1/metrics', 'http://localhost:4318/v1/logs'],
    ],
    [
      'an invalid signal endpoint falls back to the generic one + /v1/{signal}',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'logs-collector' },
      ['http://collector:4318/v1/traces', 'http://collector:4318/v1/metrics', 'http://collector:4318/v1/logs'],
    ],
  ];
  for (const [name, env, expected] of cases) {
    test(name, () => assert.deepEqual(endpoints(loadConfig(env).config), expected));
  }

  test('settings: default when nothing is set, derived from the generic endpoint, environment when own', () => {
    const unset = loadConfig({});
    assert.deepEqual(setting(unset, 'OTEL_EXPORTER_OTLP_ENDPOINT'), { value: '', source: 'default' });
    assert.deepEqual(setting(unset, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), {
      value: 'http://localhost:4318/v1/traces',
      source: 'default',
    });
    const loaded = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://logs:4318/in',
    });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_ENDPOINT'), {
      value: 'http://collector:4318/',
      source: 'environment',
    });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), {
      value: 'http://collector:4318/v1/traces',
      source: 'derived',
    });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT'), {
      value: 'http://logs:4318/in',
      source: 'environment',
    });
  });

  test('a password in the generic endpoint reaches the exporter but is redacted in derived settings', () => {
    const loaded = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:hunter2@collector.example' });
    assert.equal(loaded.config.traces.otlp.endpoint, 'https://user:hunter2@collector.example/v1/traces');
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'), {
      value: 'https://[redacted]@collector.example/v1/metrics',
      source: 'derived',
    });
  });
});

describe('per-signal OTLP settings inherit the generic ones', () => {
  const generic: EnvSource = {
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_EXPORTER_OTLP_CERTIFICATE: '/tls/ca.pem',
    OTEL_EXPORTER_OTLP_CLIENT_KEY: '/tls/client.key',
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/tls/client.pem',
  };
  const fileExists = (path: string) => path.startsWith('/tls/');

  test('nothing set: every signal has the generic defaults, source default', () => {
    const loaded = loadConfig({});
    for (const signal of SIGNALS) {
      const { endpoint: _, ...rest } = loaded.config[signal].otlp;
      assert.deepEqual(rest, {
        protocol: 'http/protobuf',
        headers: {},
        timeoutMs: 10000,
        compression: 'none',
        certificateFile: undefined,
        clientKeyFile: undefined,
        clientCertificateFile: undefined,
      });
    }
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'), { value: '10000', source: 'default' });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL'), {
      value: 'http/protobuf',
      source: 'default',
    });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE'), { value: '', source: 'default' });
  });

  test('generic settings reach every signal, source derived', () => {
    const loaded = loadConfig(generic, { fileExists });
    assert.deepEqual(messages(loaded), []);
    for (const signal of SIGNALS) {
      const { endpoint: _, headers: __, ...rest } = loaded.config[signal].otlp;
      assert.deepEqual(rest, {
        protocol: 'http/json',
        timeoutMs: 2000,
        compression: 'gzip',
        certificateFile: '/tls/ca.pem',
        clientKeyFile: '/tls/client.key',
        clientCertificateFile: '/tls/client.pem',
      });
    }
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT'), { value: '2000', source: 'derived' });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY'), {
      value: '/tls/client.key',
      source: 'derived',
    });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TIMEOUT'), { value: '2000', source: 'environment' });
  });

  test("a signal's own setting wins over the generic one, for that signal only", () => {
    const loaded = loadConfig(
      {
        ...generic,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500',
        OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: '/tls/logs-ca.pem',
      },
      { fileExists },
    );
    assert.deepEqual(messages(loaded), []);
    const { traces, metrics, logs } = loaded.config;
    assert.deepEqual(
      [traces.otlp.protocol, metrics.otlp.protocol, logs.otlp.protocol],
      ['grpc', 'http/json', 'http/json'],
    );
    assert.deepEqual([traces.otlp.timeoutMs, metrics.otlp.timeoutMs, logs.otlp.timeoutMs], [500, 2000, 2000]);
    assert.deepEqual(
      [traces.otlp.compression, metrics.otlp.compression, logs.otlp.compression],
      ['gzip', 'none', 'gzip'],
    );
    assert.deepEqual(
      [traces.otlp.certificateFile, metrics.otlp.certificateFile, logs.otlp.certificateFile],
      ['/tls/ca.pem', '/tls/ca.pem', '/tls/logs-ca.pem'],
    );
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'), { value: '500', source: 'environment' });
  });

  test('an invalid signal setting falls back to the generic one, and says so', () => {
    const loaded = loadConfig({ OTEL_EXPORTER_OTLP_TIMEOUT: '2000', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2s' });
    assert.deepEqual(messages(loaded), [
      'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="2s" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using the default (OTEL_EXPORTER_OTLP_TIMEOUT).',
    ]);
    assert.equal(loaded.config.traces.otlp.timeoutMs, 2000);
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'), { value: '2000', source: 'derived' });
  });
});

describe('OTLP headers merge per key, the signal winning', () => {
  test('generic and signal headers', () => {
    const loaded = loadConfig({
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=generic,x-tenant=t1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=traces,x-trace-only=1',
    });
    assert.deepEqual(loaded.config.traces.otlp.headers, { 'api-key': 'traces', 'x-tenant': 't1', 'x-trace-only': '1' });
    assert.deepEqual(loaded.config.metrics.otlp.headers, { 'api-key': 'generic', 'x-tenant': 't1' });
    assert.deepEqual(loaded.config.logs.otlp.headers, { 'api-key': 'generic', 'x-tenant': 't1' });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_HEADERS'), { value: '[redacted]', source: 'environment' });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'), {
      value: '[redacted]',
      source: 'environment',
    });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'), { value: '[redacted]', source: 'derived' });
  });

  test('signal headers alone stay with their signal', () => {
    const loaded = loadConfig({ OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs=1' });
    assert.deepEqual(loaded.config.logs.otlp.headers, { 'x-logs': '1' });
    assert.deepEqual(loaded.config.traces.otlp.headers, {});
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'), { value: '', source: 'default' });
    assert.deepEqual(setting(loaded, 'OTEL_EXPORTER_OTLP_LOGS_HEADERS'), {
      value: '[redacted]',
      source: 'environment',
    });
  });

  test('invalid signal headers leave the generic ones', () => {
    const loaded = loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'a=1', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'garbage' });
    assert.deepEqual(loaded.config.metrics.otlp.headers, { a: '1' });
    assert.deepEqual(messages(loaded), [
      'OTEL_EXPORTER_OTLP_METRICS_HEADERS="[redacted]" has no valid key=value entry. Accepted: comma-separated key=value pairs, values percent-encoded, each key an HTTP header name. Using the default (OTEL_EXPORTER_OTLP_HEADERS (per-key, this variable wins)).',
    ]);
  });
});

describe('batch size may not exceed the queue size', () => {
  for (const [prefix, config] of [
    ['OTEL_BSP_', (loaded: LoadedConfig) => loaded.config.traces.batch],
    ['OTEL_BLRP_', (loaded: LoadedConfig) => loaded.config.logs.batch],
  ] as const) {
    const batch = `${prefix}MAX_EXPORT_BATCH_SIZE` as const;
    const queue = `${prefix}MAX_QUEUE_SIZE` as const;

    test(`${prefix}: a batch size set above a queue size set: problem, clamped`, () => {
      const loaded = loadConfig({ [batch]: '1000', [queue]: '100' });
      assert.deepEqual(messages(loaded), [
        `${batch}="1000" is above ${queue} (100). Accepted: a whole number up to ${queue}. Using 100.`,
      ]);
      assert.equal(config(loaded).maxExportBatchSize, 100);
      assert.equal(config(loaded).maxQueueSize, 100);
      assert.deepEqual(setting(loaded, batch), { value: '100', source: 'derived' });
    });

    test(`${prefix}: a batch size set above the default queue size: problem, clamped`, () => {
      const loaded = loadConfig({ [batch]: ' 4096 ' });
      assert.deepEqual(messages(loaded), [
        `${batch}="4096" is above ${queue} (2048). Accepted: a whole number up to ${queue}. Using 2048.`,
      ]);
      assert.equal(config(loaded).maxExportBatchSize, 2048);
    });

    test(`${prefix}: only a small queue size set: the default batch size follows silently`, () => {
      const loaded = loadConfig({ [queue]: '100' });
      assert.deepEqual(messages(loaded), []);
      assert.equal(config(loaded).maxExportBatchSize, 100);
      assert.deepEqual(setting(loaded, batch), { value: '100', source: 'derived' });
    });

    test(`${prefix}: batch size equal to the queue size is fine`, () => {
      const loaded = loadConfig({ [batch]: '100', [queue]: '100' });
      assert.deepEqual(messages(loaded), []);
      assert.equal(config(loaded).maxExportBatchSize, 100);
      assert.deepEqual(setting(loaded, batch), { value: '100', source: 'environment' });
    });

    test(`${prefix}: an invalid queue size leaves the default, so a batch size below it stands`, () => {
      const loaded = loadConfig({ [batch]: '1000', [queue]: '0' });
      assert.equal(loaded.problems.length, 1);
      assert.equal(loaded.problems[0]?.variable, queue);
      assert.deepEqual(config(loaded), {
        ...config(loadConfig({})),
        maxExportBatchSize: 1000,
      });
    });
  }
});

describe('metric export timeout may not exceed the interval', () => {
  test('both set, timeout above: problem, clamped', () => {
    const loaded = loadConfig({ OTEL_METRIC_EXPORT_INTERVAL: '10000', OTEL_METRIC_EXPORT_TIMEOUT: '20000' });
    assert.deepEqual(messages(loaded), [
      'OTEL_METRIC_EXPORT_TIMEOUT="20000" is above OTEL_METRIC_EXPORT_INTERVAL (10000). Accepted: a whole number up to OTEL_METRIC_EXPORT_INTERVAL. Using 10000.',
    ]);
    assert.equal(loaded.config.metrics.exportTimeoutMs, 10000);
    assert.deepEqual(setting(loaded, 'OTEL_METRIC_EXPORT_TIMEOUT'), { value: '10000', source: 'derived' });
  });

  test('timeout set above the default interval: problem, clamped', () => {
    const loaded = loadConfig({ OTEL_METRIC_EXPORT_TIMEOUT: '90000' });
    assert.deepEqual(messages(loaded), [
      'OTEL_METRIC_EXPORT_TIMEOUT="90000" is above OTEL_METRIC_EXPORT_INTERVAL (60000). Accepted: a whole number up to OTEL_METRIC_EXPORT_INTERVAL. Using 60000.',
    ]);
    assert.equal(loaded.config.metrics.exportTimeoutMs, 60000);
  });

  test('only a short interval set: the default timeout follows silently', () => {
    const loaded = loadConfig({ OTEL_METRIC_EXPORT_INTERVAL: '5000' });
    assert.deepEqual(messages(loaded), []);
    assert.equal(loaded.config.metrics.exportIntervalMs, 5000);
    assert.equal(loaded.config.metrics.exportTimeoutMs, 5000);
    assert.deepEqual(setting(loaded, 'OTEL_METRIC_EXPORT_TIMEOUT'), { value: '5000', source: 'derived' });
  });

  test('timeout below the interval stands', () => {
    const loaded = loadConfig({ OTEL_METRIC_EXPORT_INTERVAL: '5000', OTEL_METRIC_EXPORT_TIMEOUT: '4000' });
    assert.deepEqual(messages(loaded), []);
    assert.equal(loaded.config.metrics.exportTimeoutMs, 4000);
    assert.deepEqual(setting(loaded, 'OTEL_METRIC_EXPORT_TIMEOUT'), { value: '4000', source: 'environment' });
  });
});

describe('span and log record limits inherit OTEL_ATTRIBUTE_* limits', () => {
  test('nothing set: 128 attributes, no length limit', () => {
    const { config } = loadConfig({});
    assert.deepEqual(config.traces.limits, {
      attributeValueLengthLimit: undefined,
      attributeCountLimit: 128,
      eventCountLimit: 128,
      linkCountLimit: 128,
      attributePerEventCountLimit: 128,
      attributePerLinkCountLimit: 128,
    });
    assert.deepEqual(config.logs.limits, { attributeValueLengthLimit: undefined, attributeCountLimit: 128 });
  });

  test('generic limits reach spans and log records, not the event/link limits', () => {
    const loaded = loadConfig({ OTEL_ATTRIBUTE_COUNT_LIMIT: '10', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100' });
    assert.deepEqual(loaded.config.traces.limits, {
      attributeValueLengthLimit: 100,
      attributeCountLimit: 10,
      eventCountLimit: 128,
      linkCountLimit: 128,
      attributePerEventCountLimit: 128,
      attributePerLinkCountLimit: 128,
    });
    assert.deepEqual(loaded.config.logs.limits, { attributeValueLengthLimit: 100, attributeCountLimit: 10 });
    assert.deepEqual(setting(loaded, 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT'), { value: '10', source: 'derived' });
    assert.deepEqual(setting(loaded, 'OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT'), {
      value: '100',
      source: 'derived',
    });
  });

  test('own limits win, per signal', () => {
    const { config } = loadConfig({
      OTEL_ATTRIBUTE_COUNT_LIMIT: '10',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100',
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '5',
      OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: '0',
    });
    assert.equal(config.traces.limits.attributeCountLimit, 5);
    assert.equal(config.traces.limits.attributeValueLengthLimit, 100);
    assert.deepEqual(config.logs.limits, { attributeValueLengthLimit: 0, attributeCountLimit: 10 });
  });

  test('an unset generic count limit gives 128, source default', () => {
    const loaded = loadConfig({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '64' });
    assert.deepEqual(setting(loaded, 'OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT'), { value: '128', source: 'default' });
    assert.deepEqual(setting(loaded, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT'), { value: '64', source: 'derived' });
  });
});

describe('RPCPLUGIN_ROLE', () => {
  // env → role, reason, setting source
  const cases: readonly (readonly [EnvSource, 'plugin' | 'host', string, SettingSource])[] = [
    [{}, 'host', 'auto: no go-plugin host variable is set', 'derived'],
    [{ PLUGIN_PROTOCOL_VERSIONS: '1' }, 'plugin', 'auto: PLUGIN_PROTOCOL_VERSIONS is set', 'derived'],
    [{ PLUGIN_MIN_PORT: '10000' }, 'plugin', 'auto: PLUGIN_MIN_PORT is set', 'derived'],
    [
      { PLUGIN_MIN_PORT: '10000', PLUGIN_PROTOCOL_VERSIONS: '1,2' },
      'plugin',
      'auto: PLUGIN_PROTOCOL_VERSIONS is set',
      'derived',
    ],
    [{ RPCPLUGIN_ROLE: 'AUTO', PLUGIN_MIN_PORT: '10000' }, 'plugin', 'auto: PLUGIN_MIN_PORT is set', 'derived'],
    [
      { PLUGIN_MIN_PORT: '', PLUGIN_PROTOCOL_VERSIONS: '  ' },
      'host',
      'auto: no go-plugin host variable is set',
      'derived',
    ],
    [
      { PLUGIN_MAX_PORT: '25000', PLUGIN_MAGIC_COOKIE: 'x' },
      'host',
      'auto: no go-plugin host variable is set',
      'derived',
    ],
    [{ RPCPLUGIN_ROLE: 'host', PLUGIN_PROTOCOL_VERSIONS: '1' }, 'host', 'RPCPLUGIN_ROLE', 'environment'],
    [{ RPCPLUGIN_ROLE: 'Plugin' }, 'plugin', 'RPCPLUGIN_ROLE', 'environment'],
    [{ RPCPLUGIN_ROLE: 'server', PLUGIN_MIN_PORT: '1' }, 'plugin', 'auto: PLUGIN_MIN_PORT is set', 'derived'],
  ];
  for (const [env, role, roleReason, source] of cases) {
    test(`${JSON.stringify(env)} → ${role} (${roleReason})`, () => {
      const loaded = loadConfig(env);
      assert.equal(loaded.config.plugin.role, role);
      assert.equal(loaded.config.plugin.roleReason, roleReason);
      assert.deepEqual(setting(loaded, 'RPCPLUGIN_ROLE'), { value: role, source });
    });
  }
});

describe('RPCPLUGIN_SHUTDOWN_TIMEOUT in the plugin role', () => {
  // env → timeout in force, setting: a go-plugin host kills its plugin 2 s after Shutdown.
  const cases: readonly (readonly [EnvSource, number, { value: string; source: SettingSource }])[] = [
    [{}, 3000, { value: '3000', source: 'default' }],
    [{ PLUGIN_MIN_PORT: '10000' }, 1500, { value: '1500', source: 'derived' }],
    [{ RPCPLUGIN_ROLE: 'plugin' }, 1500, { value: '1500', source: 'derived' }],
    [{ RPCPLUGIN_ROLE: 'host', PLUGIN_MIN_PORT: '10000' }, 3000, { value: '3000', source: 'default' }],
    [{ PLUGIN_MIN_PORT: '10000', RPCPLUGIN_SHUTDOWN_TIMEOUT: '5000' }, 5000, { value: '5000', source: 'environment' }],
    [{ PLUGIN_MIN_PORT: '10000', RPCPLUGIN_SHUTDOWN_TIMEOUT: '3000' }, 3000, { value: '3000', source: 'environment' }],
  ];
  for (const [env, timeoutMs, expected] of cases) {
    test(`${JSON.stringify(env)} → ${timeoutMs} ms`, () => {
      const loaded = loadConfig(env);
      assert.equal(loaded.config.shutdownTimeoutMs, timeoutMs);
      assert.deepEqual(setting(loaded, 'RPCPLUGIN_SHUTDOWN_TIMEOUT'), expected);
      assert.deepEqual(loaded.problems, []);
    });
  }
});

describe('RPCPLUGIN_INSTRUMENTATIONS', () => {
  const cases: readonly (readonly [string | undefined, readonly string[]])[] = [
    [undefined, ['grpc', 'http', 'pino', 'process', 'child_process']],
    ['all', ['grpc', 'http', 'pino', 'process', 'child_process']],
    ['none', []],
    ['grpc', ['grpc']],
    ['pino,process', ['pino', 'process']],
    ['process, all', ['grpc', 'http', 'pino', 'process', 'child_process']],
    ['none,none', []],
    ['all,none', []],
    ['pino,unknown', ['pino']],
  ];
  for (const [input, enabled] of cases) {
    test(`${JSON.stringify(input)} → ${enabled.join(',') || 'nothing'}`, () => {
      const { instrumentations } = loadConfig({ RPCPLUGIN_INSTRUMENTATIONS: input }).config;
      assert.deepEqual(
        Object.keys(instrumentations).filter((name) => instrumentations[name as keyof typeof instrumentations]),
        enabled,
      );
    });
  }
});

describe('OTEL_SDK_DISABLED and RPCPLUGIN_TELEMETRY → config.enabled', () => {
  const cases: readonly (readonly [EnvSource, boolean])[] = [
    [{}, true],
    [{ OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_SDK_DISABLED: 'TRUE' }, false],
    [{ OTEL_SDK_DISABLED: 'false' }, true],
    [{ RPCPLUGIN_TELEMETRY: 'false' }, false],
    [{ RPCPLUGIN_TELEMETRY: 'true' }, true],
    [{ RPCPLUGIN_TELEMETRY: 'true', OTEL_SDK_DISABLED: 'true' }, false],
    [{ RPCPLUGIN_TELEMETRY: 'false', OTEL_SDK_DISABLED: 'false' }, false],
    // Not a boolean: the default (enabled) is used, with a problem.
    [{ OTEL_SDK_DISABLED: 'yes' }, true],
    [{ RPCPLUGIN_TELEMETRY: 'off' }, true],
  ];
  for (const [env, enabled] of cases) {
    test(`${JSON.stringify(env)} → enabled ${enabled}`, () => {
      assert.equal(loadConfig(env).config.enabled, enabled);
    });
  }
});

describe('OTEL_SEMCONV_STABILITY_OPT_IN → rpcConventions', () => {
  const cases: readonly (readonly [string | undefined, Config['rpcConventions']])[] = [
    [undefined, 'old'],
    ['rpc', 'stable'],
    ['rpc/dup', 'both'],
    ['rpc,rpc/dup', 'both'],
    ['RPC/DUP, rpc', 'both'],
    ['http/dup', 'old'],
    ['http', 'old'],
    ['http,database/dup,rpc', 'stable'],
    ['messaging, code/dup, gen_ai_latest_experimental, k8s', 'old'],
  ];
  for (const [input, conventions] of cases) {
    test(`${JSON.stringify(input)} → ${conventions}, no problem`, () => {
      const loaded = loadConfig({ OTEL_SEMCONV_STABILITY_OPT_IN: input });
      assert.deepEqual(messages(loaded), []);
      assert.equal(loaded.config.rpcConventions, conventions);
    });
  }
});

describe('"none" combined with other entries', () => {
  const cases: readonly (readonly [VariableName, string, (config: Config) => readonly string[], string])[] = [
    [
      'OTEL_PROPAGATORS',
      'none,tracecontext',
      (config) => config.propagators,
      'a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case)',
    ],
    [
      'OTEL_TRACES_EXPORTER',
      'otlp, NONE',
      (config) => config.traces.exporters,
      'a comma-separated list of otlp, console, none (any case)',
    ],
    [
      'OTEL_METRICS_EXPORTER',
      'prometheus,none,otlp',
      (config) => config.metrics.exporters,
      'a comma-separated list of otlp, prometheus, console, none (any case)',
    ],
    [
      'OTEL_LOGS_EXPORTER',
      'console,none',
      (config) => config.logs.exporters,
      'a comma-separated list of otlp, console, none (any case)',
    ],
  ];
  for (const [name, input, read, accepted] of cases) {
    test(`${name}=${input}: only none is used, with a problem`, () => {
      const loaded = loadConfig({ [name]: input });
      assert.deepEqual(read(loaded.config), []);
      assert.deepEqual(messages(loaded), [
        `${name}=${JSON.stringify(input)} combines "none" with other entries, so only "none" is used. Accepted: ${accepted}. Using none.`,
      ]);
      assert.deepEqual(setting(loaded, name), { value: 'none', source: 'environment' });
    });
  }

  test('none twice is just none', () => {
    const loaded = loadConfig({ OTEL_PROPAGATORS: 'none, None' });
    assert.deepEqual(messages(loaded), []);
    assert.deepEqual(loaded.config.propagators, []);
  });
});

describe('environment carriers', () => {
  test('TRACESTATE without TRACEPARENT is dropped, silently', () => {
    const loaded = loadConfig({ TRACESTATE: 'congo=t61rcWkgMzE', BAGGAGE: 'userId=alice' });
    assert.deepEqual(messages(loaded), []);
    assert.deepEqual(loaded.config.parentContext, {
      traceparent: undefined,
      tracestate: undefined,
      baggage: 'userId=alice',
    });
  });

  test('TRACESTATE with an invalid TRACEPARENT is dropped too', () => {
    const loaded = loadConfig({ TRACEPARENT: 'garbage', TRACESTATE: 'congo=t61rcWkgMzE' });
    assert.deepEqual(
      loaded.problems.map((problem) => problem.variable),
      ['TRACEPARENT'],
    );
    assert.equal(loaded.config.parentContext.tracestate, undefined);
  });

  test('TRACESTATE with TRACEPARENT is kept', () => {
    const { parentContext } = loadConfig({ TRACEPARENT, TRACESTATE: 'congo=t61rcWkgMzE' }).config;
    assert.deepEqual(parentContext, { traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE', baggage: undefined });
  });
});

describe('resource service name', () => {
  test('OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES', () => {
    const { resource } = loadConfig({
      OTEL_SERVICE_NAME: 'kv-plugin',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=other,deployment.environment=prod',
    }).config;
    assert.deepEqual(resource, {
      serviceName: 'kv-plugin',
      attributes: { 'service.name': 'other', 'deployment.environment': 'prod' },
    });
  });

  test('service.name from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is unset', () => {
    assert.equal(
      loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=kv%20store' }).config.resource.serviceName,
      'kv store',
    );
  });

  test('neither: left to the agent', () => {
    assert.deepEqual(loadConfig({}).config.resource, { serviceName: undefined, attributes: {} });
  });
});

describe('TLS files', () => {
  test('the injected checker is asked for each set path, trimmed, and decides', () => {
    const asked: string[] = [];
    const fileExists = (path: string) => {
      asked.push(path);
      return path === '/tls/ca.pem';
    };
    const loaded = loadConfig(
      {
        OTEL_EXPORTER_OTLP_CERTIFICATE: ' /tls/ca.pem ',
        OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: '/tls/missing.key',
      },
      { fileExists },
    );
    assert.deepEqual(asked.sort(), ['/tls/ca.pem', '/tls/missing.key']);
    assert.deepEqual(
      SIGNALS.map((signal) => loaded.config[signal].otlp.certificateFile),
      ['/tls/ca.pem', '/tls/ca.pem', '/tls/ca.pem'],
    );
    assert.equal(loaded.config.metrics.otlp.clientKeyFile, undefined);
    assert.deepEqual(messages(loaded), [
      'OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY="/tls/missing.key" is not an existing file. Accepted: the path of a readable file. Using the default (OTEL_EXPORTER_OTLP_CLIENT_KEY).',
    ]);
  });

  test('the default checker: a real file is accepted, a directory or a missing path is not', () => {
    const directory = mkdtempSync(join(tmpdir(), 'rpcplugin-env-'));
    try {
      const ca = join(directory, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
      mkdirSync(join(directory, 'certs'));
      const loaded = loadConfig({
        OTEL_EXPORTER_OTLP_CERTIFICATE: ca,
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: join(directory, 'certs'),
        OTEL_EXPORTER_OTLP_CLIENT_KEY: join(directory, 'missing.key'),
      });
      assert.equal(loaded.config.traces.otlp.certificateFile, ca);
      assert.equal(loaded.config.logs.otlp.certificateFile, ca);
      assert.equal(loaded.config.traces.otlp.clientCertificateFile, undefined);
      assert.equal(loaded.config.traces.otlp.clientKeyFile, undefined);
      assert.deepEqual(messages(loaded), [
        `OTEL_EXPORTER_OTLP_CLIENT_KEY="${join(directory, 'missing.key')}" is not an existing file. Accepted: the path of a readable file. Using the default (none).`,
        `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE="${join(directory, 'certs')}" is not an existing file. Accepted: the path of a readable file. Using the default (none).`,
      ]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('the default checker: a path through a regular file (ENOTDIR) is not a file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'rpcplugin-env-'));
    try {
      const ca = join(directory, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
      const loaded = loadConfig({ OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: join(ca, 'ca.pem') });
      assert.equal(loaded.config.traces.otlp.certificateFile, undefined);
      assert.deepEqual(messages(loaded), [
        `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="${join(ca, 'ca.pem')}" is not an existing file. Accepted: the path of a readable file. Using the default (OTEL_EXPORTER_OTLP_CERTIFICATE).`,
      ]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('formatProblemReport', () => {
  test('no problems: nothing to write, strict or not', () => {
    assert.equal(formatProblemReport([], false), '');
    assert.equal(formatProblemReport([], true), '');
  });

  test('one problem, not strict', () => {
    const { problems } = loadConfig({ OTEL_BSP_SCHEDULE_DELAY: 'soon' });
    assert.equal(
      formatProblemReport(problems, false),
      'rpcplugin-telemetry: OTEL_BSP_SCHEDULE_DELAY="soon" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using the default 5000.\n',
    );
  });

  test('one problem, strict: the trailer names the exit code and the count', () => {
    const { config, problems } = loadConfig({ RPCPLUGIN_STRICT: 'true', OTEL_TRACES_SAMPLER: 'sometimes' });
    assert.equal(config.strict, true);
    assert.equal(
      formatProblemReport(problems, config.strict),
      'rpcplugin-telemetry: OTEL_TRACES_SAMPLER="sometimes" is not a known value. Accepted: one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio (any case). Using the default parentbased_always_on.\n' +
        'rpcplugin-telemetry: RPCPLUGIN_STRICT=true: exiting with code 78 because of 1 configuration problem.\n',
    );
  });

  test('several problems, strict: one line each, in declaration order, then the trailer', () => {
    const { config, problems } = loadConfig({
      RPCPLUGIN_STRICT: 'TRUE',
      OTEL_EXPORTER_PROMETHEUS_PORT: '99999',
      OTEL_SDK_DISABLED: 'nope',
      OTEL_EXPORTER_OTLP_HEADERS: 'Bearer abc',
    });
    assert.equal(
      formatProblemReport(problems, config.strict),
      [
        'rpcplugin-telemetry: OTEL_SDK_DISABLED="nope" is not true or false. Accepted: true or false (any case). Using the default false.',
        'rpcplugin-telemetry: OTEL_EXPORTER_OTLP_HEADERS="[redacted]" has no valid key=value entry. Accepted: comma-separated key=value pairs, values percent-encoded, each key an HTTP header name. Using the default (none).',
        'rpcplugin-telemetry: OTEL_EXPORTER_PROMETHEUS_PORT="99999" is above 65535. Accepted: a whole number from 1 to 65535. Using the default 9464.',
        'rpcplugin-telemetry: RPCPLUGIN_STRICT=true: exiting with code 78 because of 3 configuration problems.',
        '',
      ].join('\n'),
    );
  });

  test('an invalid RPCPLUGIN_STRICT is itself a problem, and strict stays off', () => {
    const { config, problems } = loadConfig({ RPCPLUGIN_STRICT: 'yes' });
    assert.equal(config.strict, false);
    assert.equal(
      formatProblemReport(problems, config.strict),
      'rpcplugin-telemetry: RPCPLUGIN_STRICT="yes" is not true or false. Accepted: true or false (any case). Using the default false.\n',
    );
  });

  test('derived problems come after the per-variable ones', () => {
    const { problems } = loadConfig({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '5000', OTEL_LOG_LEVEL: 'loud' });
    assert.deepEqual(
      problems.map((problem) => problem.variable),
      ['OTEL_LOG_LEVEL', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
    );
  });
});

describe('derivation is a pure function of the resolved values', () => {
  // Every variable at its schema default, as loadConfig resolves an empty environment, then a few set.
  const resolvedValues = (set: Partial<Record<VariableName, unknown>>) =>
    Object.freeze(
      Object.fromEntries(VARIABLE_NAMES.map((name) => [name, name in set ? set[name] : definitionOf(name).default])),
    ) as ResolvedVariables['values'];
  const resolvedSources = (set: readonly VariableName[]) =>
    Object.freeze(
      Object.fromEntries(VARIABLE_NAMES.map((name) => [name, set.includes(name) ? 'environment' : 'default'])),
    ) as ResolvedVariables['sources'];

  test('deriveConfig changes nothing it is given, and says what it derived', () => {
    const values = resolvedValues({
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 5000,
      OTEL_EXPORTER_OTLP_TIMEOUT: 2000,
      OTEL_EXPORTER_OTLP_HEADERS: Object.freeze({ a: '1' }),
    });
    const sources = resolvedSources(['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'OTEL_EXPORTER_OTLP_TIMEOUT']);
    const texts: Record<string, string> = { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '5000', PLUGIN_MIN_PORT: '10000' };
    const before = JSON.stringify({ values, sources });
    // Frozen: a write-back would throw in these strict-mode modules.
    const derivation = deriveConfig({ values, sources, text: (name) => texts[name] });
    assert.equal(JSON.stringify({ values, sources }), before);
    assert.deepEqual(deriveConfig({ values, sources, text: (name) => texts[name] }), derivation);

    assert.equal(derivation.config.traces.batch.maxExportBatchSize, 2048);
    assert.equal(derivation.config.metrics.otlp.timeoutMs, 2000);
    assert.equal(derivation.config.plugin.role, 'plugin');
    assert.deepEqual(derivation.problems, [
      {
        variable: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
        text: '5000',
        issue: 'is above OTEL_BSP_MAX_QUEUE_SIZE (2048)',
        accepted: 'a whole number up to OTEL_BSP_MAX_QUEUE_SIZE',
        using: '2048',
      },
    ]);
    const derived = (name: VariableName) => derivation.settings.filter((setting) => setting.name === name);
    assert.deepEqual(derived('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'), [
      { name: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', value: 2048, source: 'derived' },
    ]);
    assert.deepEqual(derived('OTEL_EXPORTER_OTLP_LOGS_TIMEOUT'), [
      { name: 'OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', value: 2000, source: 'derived' },
    ]);
    assert.deepEqual(derived('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'), [
      { name: 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', value: 'none', source: 'default' },
    ]);
    assert.deepEqual(derived('RPCPLUGIN_ROLE'), [{ name: 'RPCPLUGIN_ROLE', value: 'plugin', source: 'derived' }]);
    assert.deepEqual(derived('OTEL_EXPORTER_OTLP_ENDPOINT'), []);
  });

  test('src/env has no import cycle', () => {
    const directory = join(REPO_ROOT, 'src', 'env');
    const imports = new Map<string, string[]>();
    for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts'))) {
      const text = readFileSync(join(directory, file), 'utf8');
      imports.set(
        file,
        [...text.matchAll(/from '\.\/([\w-]+\.ts)'/g)].map((match) => match[1] as string),
      );
    }
    const cycles: string[] = [];
    const visit = (file: string, path: readonly string[]) => {
      if (path.includes(file)) {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      for (const next of imports.get(file) ?? []) visit(next, [...path, file]);
    };
    for (const file of imports.keys()) visit(file, []);
    assert.deepEqual(cycles, []);
  });
});
