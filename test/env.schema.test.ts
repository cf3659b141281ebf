/**
 * The configuration contract, one variable at a time (docs/configuration.md): what each
 * variable accepts, what it becomes in the Config, and the exact problem a bad value gives. Every
 * variable in src/env/variables.ts must have a row here; rules that join variables are in
 * env.derive.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Config,
  type ConfigProblem,
  definitionOf,
  describeProblem,
  type EnvSource,
  loadConfig,
  VARIABLE_NAMES,
  type VariableName,
} from '../src/env/index.ts';

/** TLS files "exist" only under /etc/ok/, so the file rows do not depend on this machine. */
const fileExists = (path: string) => path.startsWith('/etc/ok/');
const load = (env: EnvSource) => loadConfig(env, { fileExists });

type Valid = readonly [input: string, expected: unknown];
/** `quoted` is the value as the problem shows it, when that is not the trimmed input (secrets). */
type Invalid = readonly [input: string, issue: string, quoted?: string];

interface Contract {
  /** Where the variable's value ends up in the Config. */
  readonly read: (config: Config) => unknown;
  /** `Accepted: …` of every problem about this variable. */
  readonly accepted: string;
  /** `Using …` when a bad value is ignored. */
  readonly using: string;
  readonly valid: readonly Valid[];
  readonly invalid: readonly Invalid[];
  /** Other variables the rows need (TRACESTATE means nothing without TRACEPARENT). */
  readonly with?: EnvSource;
}

// ---------------------------------------------------------------------------------------------
// Accepted texts and the bad inputs each kind shares.

const MAX = 2147483647;
const MS = `a whole number from 0 to ${MAX} (milliseconds)`;
const COUNT = `a whole number from 0 to ${MAX}`;
const SIZE = `a whole number from 1 to ${MAX}`;
const BOOLEAN = 'true or false (any case)';
const URL_ACCEPTED = 'an http:// or https:// URL';
const FILE = 'the path of a readable file';
const HEADERS = 'comma-separated key=value pairs, values percent-encoded, each key an HTTP header name';
const PROTOCOLS = 'http/protobuf, http/json, grpc';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACEPARENT_LAYOUT = 'is not a W3C traceparent (lowercase hex: 2-32-16-2 digits joined by "-")';

const NOT_BOOLEAN: readonly Invalid[] = ['yes', 'no', '1', '0', 'on', 'off', 't', 'truee', '"true"', 'true,false'].map(
  (input) => [input, 'is not true or false'],
);

const notKnown = (inputs: readonly string[]): Invalid[] => inputs.map((input) => [input, 'is not a known value']);

/** Text that is not a whole number, then the numbers just outside [min, max]. */
function wholeNumberBad(min: number, max = MAX): Invalid[] {
  const notWhole = ['abc', '1.5', '1e3', '0x10', '10ms', '1 000', '1_000', 'Infinity', '٣', '--1', '+'];
  return [
    ...notWhole.map((input): Invalid => [input, 'is not a whole number']),
    [String(min - 1), `is below ${min}`],
    ['-99999999999999999999', `is below ${min}`],
    [String(max + 1), `is above ${max}`],
    ['99999999999999999999', `is above ${max}`],
  ];
}

function wholeNumber(read: Contract['read'], accepted: string, using: string, valid: readonly Valid[]): Contract {
  const min = accepted === MS || accepted === COUNT ? 0 : 1;
  const shared: Valid[] = [
    [' 42 ', 42],
    ['+42', 42],
    ['0042', 42],
  ];
  return { read, accepted, using, valid: [...valid, ...shared], invalid: wholeNumberBad(min) };
}

const URL_BAD: readonly Invalid[] = [
  ['localhost', 'is not a URL'],
  ['http://', 'is not a URL'],
  ['http//collector', 'is not a URL'],
  ['/v1/traces', 'is not a URL'],
  ['http://collector:99999', 'is not a URL'],
  ['http://exa mple:4318', 'is not a URL'],
  ['collector:4318', 'is not an http:// or https:// URL'],
  ['grpc://collector:4317', 'is not an http:// or https:// URL'],
  ['ftp://collector', 'is not an http:// or https:// URL'],
  ['unix:///var/run/otel.sock', 'is not an http:// or https:// URL'],
];

const HEADERS_BAD: readonly Invalid[] = [
  ['Bearer abc', 'has no valid key=value entry', '[redacted]'],
  ['bad key=v', 'has no valid key=value entry', '[redacted]'],
  ['(key)=v', 'has no valid key=value entry', '[redacted]'],
  ['=v', 'has no valid key=value entry', '[redacted]'],
  ['api-key=%zz', 'has no valid key=value entry', '[redacted]'],
  [',', 'has no entries', '[redacted]'],
];

const FILE_BAD: readonly Invalid[] = [
  ['/etc/missing/ca.pem', 'is not an existing file'],
  ['ca.pem', 'is not an existing file'],
];

const listBad = (unknown: readonly string[]): Invalid[] => [
  ...unknown.map((input): Invalid => [input, 'has no known entry']),
  [',', 'has no entries'],
  [' , , ', 'has no entries'],
];

const members = (count: number) => Array.from({ length: count }, (_, index) => `k${index}=v`).join(',');

// ---------------------------------------------------------------------------------------------
// The OTLP exporter variables: generic, then the same eight for each signal.

type Signal = 'traces' | 'metrics' | 'logs';
type OtlpSetting =
  | 'ENDPOINT'
  | 'PROTOCOL'
  | 'HEADERS'
  | 'TIMEOUT'
  | 'COMPRESSION'
  | 'CERTIFICATE'
  | 'CLIENT_KEY'
  | 'CLIENT_CERTIFICATE';

function otlp<P extends string>(prefix: P, signal?: Signal): Record<`${P}${OtlpSetting}`, Contract> {
  // A generic variable is seen through the traces exporter, which inherits it.
  const exporter = (config: Config) => config[signal ?? 'traces'].otlp;
  const inherited = (setting: OtlpSetting, ownDefault: string) =>
    signal ? `the default (OTEL_EXPORTER_OTLP_${setting})` : ownDefault;
  const file = (read: (config: Config) => unknown, using: string): Contract => ({
    read,
    accepted: FILE,
    using,
    valid: [
      ['/etc/ok/ca.pem', '/etc/ok/ca.pem'],
      ['  /etc/ok/with space.pem  ', '/etc/ok/with space.pem'],
    ],
    invalid: FILE_BAD,
  });
  const contracts: Record<OtlpSetting, Contract> = {
    ENDPOINT: {
      read: (config) => exporter(config).endpoint,
      accepted: URL_ACCEPTED,
      using: signal
        ? `the default (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/${signal} (http) or as is (grpc))`
        : 'the default (http://localhost:4318 (http), http://localhost:4317 (grpc))',
      valid: signal
        ? [
            // Used as is: no /v1/{signal} is appended to a signal's own endpoint.
            ['http://collector:4318', 'http://collector:4318/'],
            ['http://collector:4318/custom/path', 'http://collector:4318/custom/path'],
            [' HTTPS://Collector.Example:443/v1/x ', 'https://collector.example/v1/x'],
          ]
        : [
            ['http://collector:4318', 'http://collector:4318/v1/traces'],
            ['HTTPS://Collector.Example:4318/prefix/', 'https://collector.example:4318/prefix/v1/traces'],
            [' http://[::1]:4318 ', 'http://[::1]:4318/v1/traces'],
          ],
      invalid: URL_BAD,
    },
    PROTOCOL: {
      read: (config) => exporter(config).protocol,
      accepted: `one of ${PROTOCOLS} (any case)`,
      using: inherited('PROTOCOL', 'the default http/protobuf'),
      valid: [
        ['grpc', 'grpc'],
        ['GRPC', 'grpc'],
        [' HTTP/JSON ', 'http/json'],
        ['http/protobuf', 'http/protobuf'],
      ],
      invalid: notKnown(['http', 'https', 'grpc/protobuf', 'http/proto', 'json', 'protobuf', 'http,grpc']),
    },
    HEADERS: {
      read: (config) => exporter(config).headers,
      accepted: HEADERS,
      using: signal ? 'the default (OTEL_EXPORTER_OTLP_HEADERS (per-key, this variable wins))' : 'the default (none)',
      valid: [
        ['api-key=abc', { 'api-key': 'abc' }],
        ['Authorization=Bearer%20abc , X-Tenant = t1', { Authorization: 'Bearer abc', 'X-Tenant': 't1' }],
        ['k=v=w', { k: 'v=w' }],
        ['k=1,k=2', { k: '2' }],
      ],
      invalid: HEADERS_BAD,
    },
    TIMEOUT: wholeNumber((config) => exporter(config).timeoutMs, MS, inherited('TIMEOUT', 'the default 10000'), [
      ['0', 0],
      ['2500', 2500],
    ]),
    COMPRESSION: {
      read: (config) => exporter(config).compression,
      accepted: 'one of gzip, none (any case)',
      using: inherited('COMPRESSION', 'the default none'),
      valid: [
        ['gzip', 'gzip'],
        [' GZip ', 'gzip'],
        ['NONE', 'none'],
      ],
      invalid: notKnown(['gz', 'deflate', 'zstd', 'true', 'gzip,none']),
    },
    CERTIFICATE: file(
      (config) => exporter(config).certificateFile,
      inherited('CERTIFICATE', 'the default (the system trust store)'),
    ),
    CLIENT_KEY: file((config) => exporter(config).clientKeyFile, inherited('CLIENT_KEY', 'the default (none)')),
    CLIENT_CERTIFICATE: file(
      (config) => exporter(config).clientCertificateFile,
      inherited('CLIENT_CERTIFICATE', 'the default (none)'),
    ),
  };
  return Object.fromEntries(
    Object.entries(contracts).map(([setting, contract]) => [`${prefix}${setting}`, contract]),
  ) as Record<`${P}${OtlpSetting}`, Contract>;
}

// ---------------------------------------------------------------------------------------------
// The contract, in the order of src/env/variables.ts.

const instrumentations = (grpc: boolean, pino: boolean, process: boolean, http = false, child_process = false) => ({
  grpc,
  http,
  pino,
  process,
  child_process,
});

const CONTRACT: { readonly [K in VariableName]: Contract } = {
  OTEL_SDK_DISABLED: {
    read: (config) => !config.enabled,
    accepted: BOOLEAN,
    using: 'the default false',
    valid: [
      ['true', true],
      ['TRUE', true],
      [' True ', true],
      ['false', false],
      ['FaLsE', false],
    ],
    invalid: NOT_BOOLEAN,
  },
  OTEL_DENO: {
    read: (config) => config.denoBuiltinTelemetry,
    accepted: BOOLEAN,
    using: 'the default false',
    valid: [
      ['true', true],
      [' TRUE ', true],
      ['false', false],
    ],
    invalid: NOT_BOOLEAN,
  },
  RPCPLUGIN_TELEMETRY: {
    read: (config) => config.enabled,
    accepted: BOOLEAN,
    using: 'the default true',
    valid: [
      ['false', false],
      ['FALSE', false],
      [' tRUE ', true],
    ],
    invalid: NOT_BOOLEAN,
  },
  RPCPLUGIN_STRICT: {
    read: (config) => config.strict,
    accepted: BOOLEAN,
    using: 'the default false',
    valid: [
      ['true', true],
      ['True', true],
      ['false', false],
    ],
    invalid: NOT_BOOLEAN,
  },
  RPCPLUGIN_INSTRUMENTATIONS: {
    read: (config) => config.instrumentations,
    accepted: 'a comma-separated list of grpc, http, pino, process, child_process, all, none (any case)',
    using: 'the default all',
    valid: [
      ['grpc', instrumentations(true, false, false)],
      ['GRPC, Pino', instrumentations(true, true, false)],
      [' process ,process', instrumentations(false, false, true)],
      ['all', instrumentations(true, true, true, true, true)],
      ['ALL', instrumentations(true, true, true, true, true)],
      ['grpc,all', instrumentations(true, true, true, true, true)],
      ['HTTP', instrumentations(false, false, false, true)],
      ['child_process', instrumentations(false, false, false, false, true)],
      ['none', instrumentations(false, false, false)],
      ['None', instrumentations(false, false, false)],
    ],
    invalid: listBad(['https', 'grpc-js', 'grpc;pino', '*', 'winston']),
  },
  RPCPLUGIN_SHUTDOWN_TIMEOUT: wholeNumber((config) => config.shutdownTimeoutMs, MS, 'the default 3000', [
    ['0', 0],
    ['10000', 10000],
    [String(MAX), MAX],
  ]),
  OTEL_LOG_LEVEL: {
    read: (config) => config.logLevel,
    accepted: 'one of none, error, warn, info, debug, verbose, all (any case)',
    using: 'the default info',
    valid: [
      ['debug', 'debug'],
      ['DEBUG', 'debug'],
      [' Warn ', 'warn'],
      ['none', 'none'],
      ['error', 'error'],
      ['verbose', 'verbose'],
      ['all', 'all'],
    ],
    invalid: notKnown(['warning', 'trace', 'fatal', 'off', '3', 'info,debug']),
  },
  OTEL_SEMCONV_STABILITY_OPT_IN: {
    read: (config) => config.rpcConventions,
    accepted: 'a comma-separated list of rpc, rpc/dup (any case)',
    using: 'the default (the old RPC conventions)',
    valid: [
      ['rpc', 'stable'],
      ['RPC', 'stable'],
      ['rpc/dup', 'both'],
      ['rpc, rpc/dup', 'both'],
      // Other domains' values belong to other instrumentations: accepted without a word.
      ['http', 'old'],
      ['http/dup, RPC', 'stable'],
      ['database,messaging/dup', 'old'],
    ],
    invalid: [
      ['grpc', 'has no known entry'],
      ['rpc-dup', 'has no known entry'],
      ['rpc/new', 'has no known entry'],
      ['http,stable', 'has no known entry'],
    ],
  },

  OTEL_SERVICE_NAME: {
    read: (config) => config.resource.serviceName,
    accepted: 'any text',
    using: '',
    valid: [
      ['checkout', 'checkout'],
      ['  my service  ', 'my service'],
      ['サービス', 'サービス'],
      ['a,b=c%20', 'a,b=c%20'],
    ],
    invalid: [],
  },
  OTEL_RESOURCE_ATTRIBUTES: {
    read: (config) => config.resource.attributes,
    accepted: 'comma-separated key=value pairs, values percent-encoded',
    using: 'the default (none)',
    valid: [
      ['service.version=1.2.3', { 'service.version': '1.2.3' }],
      ['a=1, b = two ', { a: '1', b: 'two' }],
      ['k=hello%20world%2C%3D', { k: 'hello world,=' }],
      ['k=1,k=2', { k: '2' }],
      ['k=', { k: '' }],
      ['région=Zürich', { région: 'Zürich' }],
    ],
    invalid: [
      ['novalue', 'has no valid key=value entry', '[redacted]'],
      // A bad entry is never quoted: it may be a secret pasted in the wrong place.
      ['=v', 'has no valid key=value entry', '[redacted]'],
      ['k=%zz', 'has no valid key=value entry', '[redacted]'],
      ['k=%E0%A4%A', 'has no valid key=value entry', '[redacted]'],
      // A lone surrogate (not from process.env, but loadConfig takes any object) cannot be sent.
      ['k=\uD800', 'has no valid key=value entry', '[redacted]'],
      ['api.token=%zz', 'has no valid key=value entry', '[redacted]'],
      [',', 'has no entries'],
      [' , ,', 'has no entries'],
    ],
  },

  OTEL_PROPAGATORS: {
    read: (config) => config.propagators,
    accepted: 'a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case)',
    using: 'the default tracecontext,baggage',
    valid: [
      ['b3', ['b3']],
      ['TraceContext, Baggage, B3Multi', ['tracecontext', 'baggage', 'b3multi']],
      ['baggage,tracecontext', ['baggage', 'tracecontext']],
      ['jaeger,JAEGER', ['jaeger']],
      ['none', []],
      ['NONE', []],
    ],
    invalid: listBad(['xray', 'ottrace', 'w3c', 'tracecontext;baggage', 'b3 multi']),
  },

  OTEL_TRACES_SAMPLER: {
    read: (config) => config.sampler.name,
    accepted:
      'one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio (any case)',
    using: 'the default parentbased_always_on',
    valid: [
      ['always_off', 'always_off'],
      ['ALWAYS_ON', 'always_on'],
      [' TraceIdRatio ', 'traceidratio'],
      ['parentbased_always_off', 'parentbased_always_off'],
      ['parentbased_traceidratio', 'parentbased_traceidratio'],
    ],
    invalid: notKnown([
      'jaeger_remote',
      'parentbased_jaeger_remote',
      'xray',
      'always-on',
      'alwayson',
      'ratio',
      'always_on,always_off',
    ]),
  },
  OTEL_TRACES_SAMPLER_ARG: {
    read: (config) => config.sampler.ratio,
    accepted: 'a number from 0 to 1',
    using: 'the default 1',
    valid: [
      ['0', 0],
      ['0.25', 0.25],
      [' .5 ', 0.5],
      ['1', 1],
      ['1.0', 1],
      ['1.', 1],
      ['5e-1', 0.5],
      ['+0.5', 0.5],
    ],
    invalid: [
      ['abc', 'is not a number'],
      ['1/2', 'is not a number'],
      ['50%', 'is not a number'],
      ['0,5', 'is not a number'],
      ['NaN', 'is not a number'],
      ['Infinity', 'is not a number'],
      ['.', 'is not a number'],
      ['0x1', 'is not a number'],
      ['1.5', 'is above 1'],
      ['2', 'is above 1'],
      ['1e1', 'is above 1'],
      ['-0.1', 'is below 0'],
      ['-1', 'is below 0'],
    ],
  },

  OTEL_TRACES_EXPORTER: {
    read: (config) => config.traces.exporters,
    accepted: 'a comma-separated list of otlp, console, none (any case)',
    using: 'the default otlp',
    valid: [
      ['console', ['console']],
      ['OTLP, Console', ['otlp', 'console']],
      ['console,console', ['console']],
      ['none', []],
    ],
    invalid: listBad(['zipkin', 'jaeger', 'logging', 'prometheus']),
  },
  OTEL_METRICS_EXPORTER: {
    read: (config) => config.metrics.exporters,
    accepted: 'a comma-separated list of otlp, prometheus, console, none (any case)',
    using: 'the default otlp',
    valid: [
      ['prometheus', ['prometheus']],
      ['Prometheus, OTLP', ['prometheus', 'otlp']],
      ['console', ['console']],
      ['None', []],
    ],
    invalid: listBad(['zipkin', 'logging', 'otlp/grpc', 'statsd']),
  },
  OTEL_LOGS_EXPORTER: {
    read: (config) => config.logs.exporters,
    accepted: 'a comma-separated list of otlp, console, none (any case)',
    using: 'the default otlp',
    valid: [
      ['console', ['console']],
      [' otlp , console ', ['otlp', 'console']],
      ['NONE', []],
    ],
    invalid: listBad(['zipkin', 'prometheus', 'file']),
  },

  ...otlp('OTEL_EXPORTER_OTLP_'),
  ...otlp('OTEL_EXPORTER_OTLP_TRACES_', 'traces'),
  ...otlp('OTEL_EXPORTER_OTLP_METRICS_', 'metrics'),
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: {
    read: (config) => config.metrics.temporality,
    accepted: 'one of cumulative, delta, lowmemory (any case)',
    using: 'the default cumulative',
    valid: [
      ['delta', 'delta'],
      ['DELTA', 'delta'],
      [' LowMemory ', 'lowmemory'],
      ['cumulative', 'cumulative'],
    ],
    invalid: notKnown(['low_memory', 'deltas', 'cumulative,delta', '0']),
  },
  ...otlp('OTEL_EXPORTER_OTLP_LOGS_', 'logs'),

  OTEL_BSP_SCHEDULE_DELAY: wholeNumber((config) => config.traces.batch.scheduleDelayMs, MS, 'the default 5000', [
    ['0', 0],
    ['250', 250],
  ]),
  OTEL_BSP_EXPORT_TIMEOUT: wholeNumber((config) => config.traces.batch.exportTimeoutMs, MS, 'the default 30000', [
    ['0', 0],
    ['1000', 1000],
  ]),
  OTEL_BSP_MAX_QUEUE_SIZE: wholeNumber((config) => config.traces.batch.maxQueueSize, SIZE, 'the default 2048', [
    ['1', 1],
    ['4096', 4096],
  ]),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: wholeNumber(
    (config) => config.traces.batch.maxExportBatchSize,
    SIZE,
    'the default 512',
    [
      ['1', 1],
      ['2048', 2048],
    ],
  ),
  OTEL_BLRP_SCHEDULE_DELAY: wholeNumber((config) => config.logs.batch.scheduleDelayMs, MS, 'the default 1000', [
    ['0', 0],
    ['5000', 5000],
  ]),
  OTEL_BLRP_EXPORT_TIMEOUT: wholeNumber((config) => config.logs.batch.exportTimeoutMs, MS, 'the default 30000', [
    ['0', 0],
    ['1000', 1000],
  ]),
  OTEL_BLRP_MAX_QUEUE_SIZE: wholeNumber((config) => config.logs.batch.maxQueueSize, SIZE, 'the default 2048', [
    ['1', 1],
    ['100000', 100000],
  ]),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: wholeNumber(
    (config) => config.logs.batch.maxExportBatchSize,
    SIZE,
    'the default 512',
    [
      ['1', 1],
      ['2048', 2048],
    ],
  ),

  OTEL_METRIC_EXPORT_INTERVAL: wholeNumber(
    (config) => config.metrics.exportIntervalMs,
    `a whole number from 1 to ${MAX} (milliseconds)`,
    'the default 60000',
    [
      ['1', 1],
      ['15000', 15000],
    ],
  ),
  OTEL_METRIC_EXPORT_TIMEOUT: wholeNumber((config) => config.metrics.exportTimeoutMs, MS, 'the default 30000', [
    ['0', 0],
    ['60000', 60000],
  ]),

  OTEL_EXPORTER_PROMETHEUS_HOST: {
    read: (config) => config.metrics.prometheus.host,
    accepted: 'any text',
    using: '',
    valid: [
      ['0.0.0.0', '0.0.0.0'],
      [' :: ', '::'],
      ['metrics.internal', 'metrics.internal'],
    ],
    invalid: [],
  },
  OTEL_EXPORTER_PROMETHEUS_PORT: {
    read: (config) => config.metrics.prometheus.port,
    accepted: 'a whole number from 1 to 65535',
    using: 'the default 9464',
    valid: [
      ['1', 1],
      ['9090', 9090],
      [' 65535 ', 65535],
    ],
    invalid: [
      ['http', 'is not a whole number'],
      ['9464.0', 'is not a whole number'],
      [':9464', 'is not a whole number'],
      ['-1', 'is below 1'],
      ['65536', 'is above 65535'],
      ['0', 'is below 1'],
      ['99999999999999999999', 'is above 65535'],
    ],
  },

  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: wholeNumber(
    (config) => config.traces.limits.attributeValueLengthLimit,
    COUNT,
    'the default (no limit)',
    [
      ['0', 0],
      ['4096', 4096],
    ],
  ),
  OTEL_ATTRIBUTE_COUNT_LIMIT: wholeNumber(
    (config) => config.traces.limits.attributeCountLimit,
    COUNT,
    'the default 128',
    [
      ['0', 0],
      ['1000', 1000],
    ],
  ),
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: wholeNumber(
    (config) => config.traces.limits.attributeValueLengthLimit,
    COUNT,
    'the default (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)',
    [['256', 256]],
  ),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: wholeNumber(
    (config) => config.traces.limits.attributeCountLimit,
    COUNT,
    'the default (OTEL_ATTRIBUTE_COUNT_LIMIT)',
    [['64', 64]],
  ),
  OTEL_SPAN_EVENT_COUNT_LIMIT: wholeNumber((config) => config.traces.limits.eventCountLimit, COUNT, 'the default 128', [
    ['0', 0],
  ]),
  OTEL_SPAN_LINK_COUNT_LIMIT: wholeNumber((config) => config.traces.limits.linkCountLimit, COUNT, 'the default 128', [
    ['1000', 1000],
  ]),
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: wholeNumber(
    (config) => config.traces.limits.attributePerEventCountLimit,
    COUNT,
    'the default 128',
    [['16', 16]],
  ),
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: wholeNumber(
    (config) => config.traces.limits.attributePerLinkCountLimit,
    COUNT,
    'the default 128',
    [['8', 8]],
  ),
  OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: wholeNumber(
    (config) => config.logs.limits.attributeValueLengthLimit,
    COUNT,
    'the default (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)',
    [['1024', 1024]],
  ),
  OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: wholeNumber(
    (config) => config.logs.limits.attributeCountLimit,
    COUNT,
    'the default (OTEL_ATTRIBUTE_COUNT_LIMIT)',
    [['32', 32]],
  ),

  TRACEPARENT: {
    read: (config) => config.parentContext.traceparent,
    accepted: `a W3C traceparent such as ${TRACEPARENT}`,
    using: 'the default (none)',
    valid: [
      [TRACEPARENT, TRACEPARENT],
      [` ${TRACEPARENT} `, TRACEPARENT],
      [
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
        '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
      ],
    ],
    invalid: [
      ['garbage', TRACEPARENT_LAYOUT],
      [TRACEPARENT.toUpperCase(), TRACEPARENT_LAYOUT],
      [`${TRACEPARENT}-extra`, TRACEPARENT_LAYOUT],
      ['00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', TRACEPARENT_LAYOUT],
      ['00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01', TRACEPARENT_LAYOUT],
      ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'has the forbidden version ff'],
      ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'has an all-zero trace id'],
      ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 'has an all-zero parent id'],
    ],
  },
  TRACESTATE: {
    read: (config) => config.parentContext.tracestate,
    with: { TRACEPARENT },
    accepted: 'comma-separated key=value members, at most 32',
    using: 'the default (none)',
    valid: [
      ['congo=t61rcWkgMzE', 'congo=t61rcWkgMzE'],
      [' rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE ', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
      [members(32), members(32)],
    ],
    invalid: [
      ['congo', 'member 1 is not key=value', '[redacted]'],
      ['a=1,b', 'member 2 is not key=value', 'a=1,[redacted]'],
      ['=1', 'member 1 is not key=value'],
      ['a b=1', 'member 1 is not key=value'],
      [members(33), 'has 33 members'],
    ],
  },
  BAGGAGE: {
    read: (config) => config.parentContext.baggage,
    accepted: 'comma-separated key=value members, at most 180',
    using: 'the default (none)',
    valid: [
      ['userId=alice', 'userId=alice'],
      ['userId=alice;prop=1 , isProduction=false', 'userId=alice;prop=1,isProduction=false'],
      [members(180), members(180)],
    ],
    invalid: [
      ['alice', 'member 1 is not key=value', '[redacted]'],
      ['userId=alice,,;x', 'member 2 is not key=value', 'userId=alice,,[redacted]'],
      ['=alice', 'member 1 is not key=value'],
      [members(181), 'has 181 members'],
    ],
  },

  RPCPLUGIN_ROLE: {
    read: (config) => config.plugin.role,
    accepted: 'one of plugin, host, auto (any case)',
    using: 'the default auto',
    valid: [
      ['plugin', 'plugin'],
      ['HOST', 'host'],
      // auto without the go-plugin host variables: host (env.derive.test.ts has the rest).
      [' Auto ', 'host'],
    ],
    invalid: notKnown(['server', 'client', 'both', 'automatic', 'plugin,host']),
  },
  RPCPLUGIN_MAGIC_COOKIE_KEY: {
    read: (config) => config.plugin.magicCookieKey,
    accepted: 'an environment variable name (letters, digits, _; not starting with a digit)',
    using: 'the default PLUGIN_MAGIC_COOKIE',
    valid: [
      ['BASIC_PLUGIN', 'BASIC_PLUGIN'],
      [' basic_plugin ', 'basic_plugin'],
      ['_X1', '_X1'],
    ],
    invalid: ['1PLUGIN', 'PLUGIN-COOKIE', 'MY COOKIE', 'COOKIE=1', '$PLUGIN', 'ÄPFEL'].map(
      (input): Invalid => [input, 'is not an environment variable name'],
    ),
  },
  RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS: {
    read: (config) => config.http.captureRequestHeaders,
    accepted: 'a comma-separated list of HTTP header names (any case)',
    using: 'the default (none)',
    valid: [
      ['X-Request-Id, content-type , x-request-id', ['x-request-id', 'content-type']],
      ["x-b3-sampled,Accept,~odd'name", ['x-b3-sampled', 'accept', "~odd'name"]],
    ],
    invalid: [
      ['x request', 'has no valid header name'],
      ['a:b', 'has no valid header name'],
      [',', 'has no entries'],
    ],
  },
  RPCPLUGIN_HTTP_CAPTURE_RESPONSE_HEADERS: {
    read: (config) => config.http.captureResponseHeaders,
    accepted: 'a comma-separated list of HTTP header names (any case)',
    using: 'the default (none)',
    valid: [['Content-Type,set-cookie', ['content-type', 'set-cookie']]],
    invalid: [['ключ', 'has no valid header name']],
  },
  RPCPLUGIN_GRPC_CAPTURE_METADATA: {
    read: (config) => config.plugin.captureMetadata,
    accepted: 'a comma-separated list of gRPC metadata keys (letters, digits, -, _ and .; any case)',
    using: 'the default (none)',
    valid: [
      ['x-request-id', ['x-request-id']],
      ['X-Request-Id, tenant_id , x-request-id', ['x-request-id', 'tenant_id']],
      ['grpc.timeout', ['grpc.timeout']],
    ],
    invalid: [
      ['x request', 'has no valid metadata key'],
      ['ключ', 'has no valid metadata key'],
      ['a:b', 'has no valid metadata key'],
      ['a/b,c d', 'has no valid metadata key'],
      [',', 'has no entries'],
    ],
  },
  RPCPLUGIN_LOG_FORMAT: {
    read: (config) => config.plugin.logFormat,
    accepted: 'one of pino, hclog (any case)',
    using: 'the default pino',
    valid: [
      ['pino', 'pino'],
      [' HCLOG ', 'hclog'],
    ],
    invalid: notKnown(['json', 'auto', 'hclog,pino']),
  },
};

/** How a message quotes a value: whole up to 200 characters, else the first 200 and the length. */
function quotedInMessage(value: string): string {
  return value.length <= 200 ? JSON.stringify(value) : `"${value.slice(0, 200)}"… (${value.length} characters)`;
}

/** Kinds that accept any non-empty text: nothing to reject. */
const ACCEPTS_ANY_TEXT: readonly VariableName[] = ['OTEL_SERVICE_NAME', 'OTEL_EXPORTER_PROMETHEUS_HOST'];

const badRows = VARIABLE_NAMES.flatMap((name) => CONTRACT[name].invalid.map((row) => [name, ...row] as const));

// ---------------------------------------------------------------------------------------------

describe('every variable is in the contract', () => {
  test('each has at least one valid row, and one invalid row unless it accepts any text', () => {
    for (const name of VARIABLE_NAMES) {
      const { valid, invalid } = CONTRACT[name];
      assert.ok(valid.length > 0, `${name} has no valid row`);
      if (!ACCEPTS_ANY_TEXT.includes(name)) assert.ok(invalid.length > 0, `${name} has no invalid row`);
    }
  });

  test('the variables without invalid rows are exactly those that accept any text', () => {
    const anyText = VARIABLE_NAMES.filter((name) => definitionOf(name).kind.accepted === 'any text');
    assert.deepEqual(anyText, ACCEPTS_ANY_TEXT);
    for (const name of ACCEPTS_ANY_TEXT) assert.deepEqual(CONTRACT[name].invalid, []);
  });

  test('the contract names no variable that does not exist', () => {
    assert.deepEqual(Object.keys(CONTRACT).sort(), [...VARIABLE_NAMES].sort());
  });

  test(`there are at least 150 bad-input rows (${badRows.length})`, () => {
    assert.ok(badRows.length >= 150, `only ${badRows.length} bad-input rows`);
  });
});

describe('empty or whitespace-only is the same as unset', () => {
  const unset = load({});
  for (const name of VARIABLE_NAMES) {
    for (const input of ['', ' ', ' \t\n ']) {
      test(`${name}=${JSON.stringify(input)}`, () => {
        const loaded = load({ [name]: input });
        assert.deepEqual(loaded.problems, []);
        assert.deepEqual(loaded.config, unset.config);
        assert.deepEqual(loaded.settings, unset.settings);
      });
    }
  }
});

for (const name of VARIABLE_NAMES) {
  const contract = CONTRACT[name];
  describe(name, () => {
    const baseline = load(contract.with ?? {});

    for (const [input, expected] of contract.valid) {
      test(`accepts ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)}`, () => {
        const { config, problems, settings } = load({ ...contract.with, [name]: input });
        assert.deepEqual(problems.map(describeProblem), []);
        assert.deepEqual(contract.read(config), expected);
        assert.notEqual(settings.find((setting) => setting.name === name)?.source, 'default');
      });
    }

    for (const [input, issue, quoted = input.trim()] of contract.invalid) {
      test(`rejects ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)}: ${issue}`, () => {
        const { config, problems, settings } = load({ ...contract.with, [name]: input });
        const expected: ConfigProblem = {
          variable: name,
          value: quoted,
          issue,
          accepted: contract.accepted,
          using: contract.using,
        };
        assert.deepEqual(problems, [expected]);
        assert.equal(
          describeProblem(problems[0] as ConfigProblem),
          `${name}=${quotedInMessage(quoted)} ${issue}. Accepted: ${contract.accepted}. Using ${contract.using}.`,
        );
        // The default is used: nothing differs from an environment without the variable.
        assert.deepEqual(config, baseline.config);
        assert.deepEqual(settings, baseline.settings);
      });
    }
  });
}

describe('text kinds take any non-empty text as is, trimmed', () => {
  for (const name of ACCEPTS_ANY_TEXT) {
    for (const input of ['%zz', ',,,', '=', '💥', 'a'.repeat(10_000), 'true']) {
      test(`${name}=${JSON.stringify(input.slice(0, 20))}`, () => {
        const { config, problems } = load({ [name]: ` ${input} ` });
        assert.deepEqual(problems, []);
        assert.equal(CONTRACT[name].read(config), input);
      });
    }
  }
});

/** Lists keep their good entries: one problem per ignored entry, `Using` what is left. */
const PARTIAL: readonly (readonly [
  name: VariableName,
  input: string,
  read: (config: Config) => unknown,
  expected: unknown,
  problems: readonly string[],
])[] = [
  [
    'OTEL_PROPAGATORS',
    'tracecontext,xray',
    (config) => config.propagators,
    ['tracecontext'],
    [
      'OTEL_PROPAGATORS="tracecontext,xray" has an unknown entry "xray", which is ignored. Accepted: a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case). Using tracecontext.',
    ],
  ],
  [
    'OTEL_PROPAGATORS',
    'B3, none, w3c',
    (config) => config.propagators,
    [],
    [
      'OTEL_PROPAGATORS="B3, none, w3c" has an unknown entry "w3c", which is ignored. Accepted: a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case). Using none.',
      'OTEL_PROPAGATORS="B3, none, w3c" combines "none" with other entries, so only "none" is used. Accepted: a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case). Using none.',
    ],
  ],
  [
    'RPCPLUGIN_INSTRUMENTATIONS',
    'grpc,none',
    (config) => config.instrumentations,
    instrumentations(false, false, false),
    [
      'RPCPLUGIN_INSTRUMENTATIONS="grpc,none" combines "none" with other entries, so only "none" is used. Accepted: a comma-separated list of grpc, http, pino, process, child_process, all, none (any case). Using none.',
    ],
  ],
  [
    'OTEL_SEMCONV_STABILITY_OPT_IN',
    'http,rpc,rpc/v2',
    (config) => config.rpcConventions,
    'stable',
    [
      'OTEL_SEMCONV_STABILITY_OPT_IN="http,rpc,rpc/v2" has an unknown entry "rpc/v2", which is ignored. Accepted: a comma-separated list of rpc, rpc/dup (any case). Using rpc.',
    ],
  ],
  [
    'OTEL_RESOURCE_ATTRIBUTES',
    'a=1,broken,=2,k=%zz,db_password',
    (config) => config.resource.attributes,
    { a: '1' },
    [
      // One message for all the bad entries, which are never quoted.
      'OTEL_RESOURCE_ATTRIBUTES="a=1,[redacted],[redacted],[redacted],[redacted]" has 4 bad entries, which are ignored: entry 2 without "=", entry 3 with an empty key, entry 4 with a value that is not valid percent-encoding and 1 more. Accepted: comma-separated key=value pairs, values percent-encoded. Using a=1.',
    ],
  ],
  [
    'OTEL_EXPORTER_OTLP_HEADERS',
    'api-key=s3cr3t,bad key=v',
    (config) => config.traces.otlp.headers,
    { 'api-key': 's3cr3t' },
    [
      `OTEL_EXPORTER_OTLP_HEADERS="[redacted]" has entry 2 whose key is not an HTTP header name, which is ignored. Accepted: ${HEADERS}. Using [redacted].`,
    ],
  ],
  [
    'RPCPLUGIN_GRPC_CAPTURE_METADATA',
    'x-id, bad key',
    (config) => config.plugin.captureMetadata,
    ['x-id'],
    [
      'RPCPLUGIN_GRPC_CAPTURE_METADATA="x-id, bad key" has an entry "bad key" that is not a gRPC metadata key, which is ignored. Accepted: a comma-separated list of gRPC metadata keys (letters, digits, -, _ and .; any case). Using x-id.',
    ],
  ],
];

describe('a list keeps its good entries and reports the others', () => {
  for (const [name, input, read, expected, messages] of PARTIAL) {
    test(`${name}=${JSON.stringify(input)}`, () => {
      const { config, problems, settings } = load({ [name]: input });
      assert.deepEqual(problems.map(describeProblem), messages);
      assert.deepEqual(read(config), expected);
      assert.equal(settings.find((setting) => setting.name === name)?.source, 'environment');
    });
  }
});

/** What a user reads on stderr, word for word. */
const MESSAGES: readonly (readonly [env: EnvSource, message: string])[] = [
  [
    { OTEL_BSP_SCHEDULE_DELAY: '5s' },
    'OTEL_BSP_SCHEDULE_DELAY="5s" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using the default 5000.',
  ],
  [
    { OTEL_SDK_DISABLED: 'yes' },
    'OTEL_SDK_DISABLED="yes" is not true or false. Accepted: true or false (any case). Using the default false.',
  ],
  [
    { OTEL_TRACES_SAMPLER_ARG: ' 1.5 ' },
    'OTEL_TRACES_SAMPLER_ARG="1.5" is above 1. Accepted: a number from 0 to 1. Using the default 1.',
  ],
  [
    { OTEL_EXPORTER_PROMETHEUS_PORT: '70000' },
    'OTEL_EXPORTER_PROMETHEUS_PORT="70000" is above 65535. Accepted: a whole number from 1 to 65535. Using the default 9464.',
  ],
  [
    { OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP' },
    'OTEL_EXPORTER_OTLP_PROTOCOL="HTTP" is not a known value. Accepted: one of http/protobuf, http/json, grpc (any case). Using the default http/protobuf.',
  ],
  [
    { OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'json' },
    'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="json" is not a known value. Accepted: one of http/protobuf, http/json, grpc (any case). Using the default (OTEL_EXPORTER_OTLP_PROTOCOL).',
  ],
  [
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
    'OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" is not an http:// or https:// URL. Accepted: an http:// or https:// URL. Using the default (http://localhost:4318 (http), http://localhost:4317 (grpc)).',
  ],
  [
    { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://deploy:hunter2@collector' },
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="ftp://[redacted]@collector" is not an http:// or https:// URL. Accepted: an http:// or https:// URL. Using the default (OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces (http) or as is (grpc)).',
  ],
  [
    { OTEL_EXPORTER_OTLP_HEADERS: 'Bearer hunter2' },
    'OTEL_EXPORTER_OTLP_HEADERS="[redacted]" has no valid key=value entry. Accepted: comma-separated key=value pairs, values percent-encoded, each key an HTTP header name. Using the default (none).',
  ],
  [
    { OTEL_SEMCONV_STABILITY_OPT_IN: 'grpc' },
    'OTEL_SEMCONV_STABILITY_OPT_IN="grpc" has no known entry. Accepted: a comma-separated list of rpc, rpc/dup (any case). Using the default (the old RPC conventions).',
  ],
  [
    { RPCPLUGIN_MAGIC_COOKIE_KEY: 'BASIC-PLUGIN' },
    'RPCPLUGIN_MAGIC_COOKIE_KEY="BASIC-PLUGIN" is not an environment variable name. Accepted: an environment variable name (letters, digits, _; not starting with a digit). Using the default PLUGIN_MAGIC_COOKIE.',
  ],
  [
    { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '-5' },
    'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT="-5" is below 0. Accepted: a whole number from 0 to 2147483647. Using the default (OTEL_ATTRIBUTE_COUNT_LIMIT).',
  ],
  [
    { OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/missing/ca.pem' },
    'OTEL_EXPORTER_OTLP_CERTIFICATE="/etc/missing/ca.pem" is not an existing file. Accepted: the path of a readable file. Using the default (the system trust store).',
  ],
  [
    { BAGGAGE: 'userId=alice,api_token' },
    'BAGGAGE="userId=alice,[redacted]" member 2 is not key=value. Accepted: comma-separated key=value members, at most 180. Using the default (none).',
  ],
];

describe('problem messages, word for word', () => {
  for (const [env, message] of MESSAGES) {
    test(message.slice(0, message.indexOf(' ')), () => {
      assert.deepEqual(load(env).problems.map(describeProblem), [message]);
    });
  }
});
