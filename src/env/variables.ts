/**
 * Every environment variable the agent reads, each declared once. Defaults follow the OpenTelemetry
 * "Environment Variable Specification" (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/)
 * unless the variable's description says why not. The docs table and `rpcplugin-telemetry env` are generated from here.
 */
import {
  boolean,
  choiceList,
  enumeration,
  environmentVariableName,
  filePath,
  headerKey,
  httpHeaderNames,
  httpUrl,
  integer,
  keyValues,
  memberList,
  metadataKeys,
  ratio,
  text,
  traceparent,
} from './value-kinds.ts';
import { type AnyVariable, type Group, type ValueOf, type Variable, variable } from './variable-definition.ts';

/**
 * RPCPLUGIN_SHUTDOWN_TIMEOUT's default in the plugin role: well inside the 2 s a go-plugin host waits
 * after Controller.Shutdown before it kills the plugin (hashicorp/go-plugin client.go, Kill).
 */
export const PLUGIN_SHUTDOWN_TIMEOUT_MS = 1500;

export const PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'] as const;
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export const INSTRUMENTATIONS = ['grpc', 'http', 'pino', 'process', 'child_process'] as const;
export const LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;

const ms = { min: 0, unit: 'ms' } as const;

// OTEL_SEMCONV_STABILITY_OPT_IN is shared by every instrumentation; their values are no concern of ours.
const OTHER_SEMCONV_DOMAINS = [
  'http',
  'http/dup',
  'database',
  'database/dup',
  'messaging',
  'messaging/dup',
  'k8s',
  'code',
  'code/dup',
  'gen_ai_latest_experimental',
];

export type Signal = 'traces' | 'metrics' | 'logs';
const SIGNAL_GROUP: Record<Signal, Group> = {
  traces: 'OTLP traces exporter',
  metrics: 'OTLP metrics exporter',
  logs: 'OTLP logs exporter',
};

/**
 * Where OTLP goes when no endpoint is set: the collector's default ports on this host, written as
 * the URL kind normalises them. The grpc protocol uses its own port.
 */
export const DEFAULT_OTLP_ENDPOINTS = { http: 'http://localhost:4318/', grpc: 'http://localhost:4317/' } as const;

type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The OTLP variables of one prefix; `Defaults` says whether protocol, timeout and compression have defaults. */
type OtlpVariables<P extends string, Defaults extends boolean> = {
  [K in `${P}${'ENDPOINT' | 'CERTIFICATE' | 'CLIENT_KEY' | 'CLIENT_CERTIFICATE'}`]: Variable<string, undefined>;
} & { [K in `${P}PROTOCOL`]: Variable<OtlpProtocol, Defaults extends true ? OtlpProtocol : undefined> } & {
  [K in `${P}HEADERS`]: Variable<Readonly<Record<string, string>>, undefined>;
} & { [K in `${P}TIMEOUT`]: Variable<number, Defaults extends true ? number : undefined> } & {
  [K in `${P}COMPRESSION`]: Variable<'gzip' | 'none', Defaults extends true ? 'gzip' | 'none' : undefined>;
};

/**
 * The eight OTLP exporter variables, generic (`OTEL_EXPORTER_OTLP_*`) or for one signal
 * (`OTEL_EXPORTER_OTLP_TRACES_*`). A signal's variables have no default of their own: an unset one
 * is derived from the generic variable (see derive.ts).
 */
function otlpVariables<P extends string>(prefix: P): OtlpVariables<P, true>;
function otlpVariables<P extends string>(prefix: P, signal: Signal): OtlpVariables<P, false>;
function otlpVariables(prefix: string, signal?: Signal) {
  const group = signal ? SIGNAL_GROUP[signal] : 'OTLP exporter';
  const scope = signal ? `${signal} ` : '';
  const inherit = (generic: string) => (signal ? `OTEL_EXPORTER_OTLP_${generic}` : undefined);
  return {
    [`${prefix}ENDPOINT`]: variable({
      kind: httpUrl(),
      default: undefined,
      defaultText: signal
        ? `OTEL_EXPORTER_OTLP_ENDPOINT + /v1/${signal} (http) or as is (grpc)`
        : `${withoutSlash(DEFAULT_OTLP_ENDPOINTS.http)} (http), ${withoutSlash(DEFAULT_OTLP_ENDPOINTS.grpc)} (grpc)`,
      description: signal
        ? `Where ${signal} are sent, used exactly as given (no /v1/${signal} is appended).`
        : 'Base URL of the OTLP receiver for all signals; /v1/{signal} is appended for the http protocols.',
      group,
    }),
    [`${prefix}PROTOCOL`]: variable({
      kind: enumeration(OTLP_PROTOCOLS),
      default: signal ? undefined : 'http/protobuf',
      defaultText: inherit('PROTOCOL'),
      description: `OTLP transport for ${scope || 'all '}signals.`,
      group,
    }),
    [`${prefix}HEADERS`]: variable({
      kind: keyValues({ secret: true, key: headerKey }),
      default: undefined,
      defaultText: signal ? 'OTEL_EXPORTER_OTLP_HEADERS (per-key, this variable wins)' : 'none',
      description: `Headers sent with every ${scope}export (secret: always shown redacted).`,
      group,
      secret: true,
    }),
    [`${prefix}TIMEOUT`]: variable({
      kind: integer(ms),
      default: signal ? undefined : 10000,
      defaultText: inherit('TIMEOUT'),
      description: `How long one ${scope}export may take.`,
      group,
    }),
    [`${prefix}COMPRESSION`]: variable({
      kind: enumeration(['gzip', 'none'] as const),
      default: signal ? undefined : 'none',
      defaultText: inherit('COMPRESSION'),
      description: `Compression of ${scope}export requests.`,
      group,
    }),
    [`${prefix}CERTIFICATE`]: variable({
      kind: filePath(),
      default: undefined,
      defaultText: inherit('CERTIFICATE') ?? 'the system trust store',
      description: `PEM file of the CA that signs the receiver's certificate (${scope || 'all '}signals).`,
      group,
    }),
    [`${prefix}CLIENT_KEY`]: variable({
      kind: filePath(),
      default: undefined,
      defaultText: inherit('CLIENT_KEY') ?? 'none',
      description: `PEM file of the client's private key for mutual TLS (${scope || 'all '}signals).`,
      group,
    }),
    [`${prefix}CLIENT_CERTIFICATE`]: variable({
      kind: filePath(),
      default: undefined,
      defaultText: inherit('CLIENT_CERTIFICATE') ?? 'none',
      description: `PEM file of the client's certificate for mutual TLS (${scope || 'all '}signals).`,
      group,
    }),
  };
}

function withoutSlash(url: string): string {
  return url.replace(/\/$/, '');
}

function batchVariables<P extends string>(prefix: P, group: Group, delay: number, what: string) {
  return {
    [`${prefix}SCHEDULE_DELAY`]: variable({
      kind: integer(ms),
      default: delay,
      description: `Delay between two exports of ${what}.`,
      group,
    }),
    [`${prefix}EXPORT_TIMEOUT`]: variable({
      kind: integer(ms),
      default: 30000,
      description: `How long one export of ${what} may take.`,
      group,
    }),
    [`${prefix}MAX_QUEUE_SIZE`]: variable({
      kind: integer({ min: 1 }),
      default: 2048,
      description: `${what[0]?.toUpperCase()}${what.slice(1)} kept while waiting for export; more are dropped (bounds memory when the collector is down).`,
      group,
    }),
    [`${prefix}MAX_EXPORT_BATCH_SIZE`]: variable({
      kind: integer({ min: 1 }),
      default: 512,
      description: `Most ${what} in one export; at most the queue size.`,
      group,
    }),
  } as {
    [K in `${P}${'SCHEDULE_DELAY' | 'EXPORT_TIMEOUT' | 'MAX_QUEUE_SIZE' | 'MAX_EXPORT_BATCH_SIZE'}`]: Variable<
      number,
      number
    >;
  };
}

function countLimit(what: string) {
  return variable({
    kind: integer({ min: 0 }),
    default: 128,
    description: `Most ${what}.`,
    group: 'Limits',
  });
}

/** A count limit for one signal: unset, it takes the generic limit's value (see derive.ts). */
function inheritedCountLimit(what: string, inherits: string) {
  return variable({
    kind: integer({ min: 0 }),
    default: undefined,
    defaultText: inherits,
    description: `Most ${what}.`,
    group: 'Limits',
  });
}

function lengthLimit(what: string, inherits?: string) {
  return variable({
    kind: integer({ min: 0 }),
    default: undefined,
    defaultText: inherits ?? 'no limit',
    description: `Longest ${what}, in characters; longer ones are truncated.`,
    group: 'Limits',
  });
}

export const variables = {
  OTEL_SDK_DISABLED: variable({
    kind: boolean(),
    default: false,
    description: 'true disables the OpenTelemetry SDK: the agent loads nothing beyond this configuration check.',
    group: 'General',
  }),
  OTEL_DENO: variable({
    kind: boolean(),
    default: false,
    description:
      "Deno's own switch for its built-in OpenTelemetry. When true on Deno, Deno exports traces, metrics and logs itself and the agent does not start its SDK (it still checks this configuration).",
    group: 'General',
  }),
  RPCPLUGIN_TELEMETRY: variable({
    kind: boolean(),
    default: true,
    description: 'false turns the whole agent off (nothing is loaded beyond this configuration check).',
    group: 'General',
  }),
  RPCPLUGIN_STRICT: variable({
    kind: boolean(),
    default: false,
    description:
      'true makes any configuration problem fatal: all are printed and the process exits with code 78 before the application starts.',
    group: 'General',
  }),
  RPCPLUGIN_INSTRUMENTATIONS: variable({
    kind: choiceList([...INSTRUMENTATIONS, 'all', 'none'] as const, { exclusive: ['none'] }),
    default: ['all'],
    description:
      'Which areas are instrumented: grpc (@grpc/grpc-js client and server), http (outgoing fetch and node:http(s) requests), pino (log correlation and export), process (memory and runtime gauges), child_process (trace context handed to child processes in TRACEPARENT/TRACESTATE/BAGGAGE, and the go-plugin launch span); all or none.',
    group: 'General',
  }),
  RPCPLUGIN_SHUTDOWN_TIMEOUT: variable({
    kind: integer(ms),
    default: 3000,
    defaultText: `3000; ${PLUGIN_SHUTDOWN_TIMEOUT_MS} in the plugin role`,
    description:
      'How long the agent may hold the exit of the process to flush telemetry. In the plugin role the default is shorter: a go-plugin host kills the plugin 2 s after asking it to shut down, and a flush cut by that kill sends nothing.',
    group: 'General',
  }),
  OTEL_LOG_LEVEL: variable({
    kind: enumeration(LOG_LEVELS),
    default: 'info',
    description: "Level of the SDK's own diagnostics, written to stderr.",
    group: 'General',
  }),
  OTEL_SEMCONV_STABILITY_OPT_IN: variable({
    kind: choiceList(['rpc', 'rpc/dup'] as const, { foreign: OTHER_SEMCONV_DOMAINS }),
    default: [],
    defaultText: 'the old RPC conventions',
    description:
      'rpc switches gRPC telemetry to the current RPC semantic conventions, rpc/dup emits old and new; values for other domains (http, database, …) are accepted and left to their instrumentations.',
    group: 'General',
  }),

  OTEL_SERVICE_NAME: variable({
    kind: text(),
    default: undefined,
    defaultText: "the app's package.json name, else unknown_service:<runtime>",
    description: 'service.name of every signal; wins over service.name in OTEL_RESOURCE_ATTRIBUTES.',
    group: 'Resource',
  }),
  OTEL_RESOURCE_ATTRIBUTES: variable({
    kind: keyValues(),
    default: undefined,
    defaultText: 'none',
    description: 'Extra resource attributes; values of secret-looking keys are shown redacted.',
    group: 'Resource',
  }),

  OTEL_PROPAGATORS: variable({
    kind: choiceList(PROPAGATORS, { exclusive: ['none'] }),
    default: ['tracecontext', 'baggage'],
    description: 'Context propagation formats, injected and extracted in the order given; none disables propagation.',
    group: 'Context propagation',
  }),

  OTEL_TRACES_SAMPLER: variable({
    kind: enumeration(SAMPLERS),
    default: 'parentbased_always_on',
    description: 'Which spans are recorded and sampled.',
    group: 'Sampling',
  }),
  OTEL_TRACES_SAMPLER_ARG: variable({
    kind: ratio(),
    default: 1,
    description: 'Sampling ratio for traceidratio and parentbased_traceidratio; ignored by the other samplers.',
    group: 'Sampling',
  }),

  OTEL_TRACES_EXPORTER: variable({
    kind: choiceList(['otlp', 'console', 'none'] as const, { exclusive: ['none'] }),
    default: ['otlp'],
    description: 'Where spans go; console writes to stderr, never stdout.',
    group: 'Exporters',
  }),
  OTEL_METRICS_EXPORTER: variable({
    kind: choiceList(['otlp', 'prometheus', 'console', 'none'] as const, { exclusive: ['none'] }),
    default: ['otlp'],
    description: 'Where metrics go; prometheus serves a pull endpoint, console writes to stderr.',
    group: 'Exporters',
  }),
  OTEL_LOGS_EXPORTER: variable({
    kind: choiceList(['otlp', 'console', 'none'] as const, { exclusive: ['none'] }),
    default: ['otlp'],
    description: 'Where log records go; console writes to stderr, never stdout.',
    group: 'Exporters',
  }),

  ...otlpVariables('OTEL_EXPORTER_OTLP_'),
  ...otlpVariables('OTEL_EXPORTER_OTLP_TRACES_', 'traces'),
  ...otlpVariables('OTEL_EXPORTER_OTLP_METRICS_', 'metrics'),
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: variable({
    kind: enumeration(['cumulative', 'delta', 'lowmemory'] as const),
    default: 'cumulative',
    description: 'Aggregation temporality requested from OTLP metric exporters.',
    group: 'OTLP metrics exporter',
  }),
  ...otlpVariables('OTEL_EXPORTER_OTLP_LOGS_', 'logs'),

  ...batchVariables('OTEL_BSP_', 'Batch span processor', 5000, 'spans'),
  ...batchVariables('OTEL_BLRP_', 'Batch log record processor', 1000, 'log records'),

  OTEL_METRIC_EXPORT_INTERVAL: variable({
    kind: integer({ min: 1, unit: 'ms' }),
    default: 60000,
    description: 'Time between two metric exports.',
    group: 'Metric reader',
  }),
  OTEL_METRIC_EXPORT_TIMEOUT: variable({
    kind: integer(ms),
    default: 30000,
    description: 'How long one metric export may take; at most the export interval.',
    group: 'Metric reader',
  }),

  OTEL_EXPORTER_PROMETHEUS_HOST: variable({
    kind: text(),
    default: 'localhost',
    description: 'Address the Prometheus endpoint listens on.',
    group: 'Prometheus exporter',
  }),
  OTEL_EXPORTER_PROMETHEUS_PORT: variable({
    kind: integer({ min: 1, max: 65535 }),
    default: 9464,
    description: 'Port of the Prometheus endpoint.',
    group: 'Prometheus exporter',
  }),

  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: lengthLimit('attribute value of any signal'),
  OTEL_ATTRIBUTE_COUNT_LIMIT: countLimit('attributes on a span, event, link or log record'),
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: lengthLimit('span attribute value', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: inheritedCountLimit('attributes on one span', 'OTEL_ATTRIBUTE_COUNT_LIMIT'),
  OTEL_SPAN_EVENT_COUNT_LIMIT: countLimit('events on one span'),
  OTEL_SPAN_LINK_COUNT_LIMIT: countLimit('links on one span'),
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: countLimit('attributes on one span event'),
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: countLimit('attributes on one span link'),
  OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: lengthLimit(
    'log record attribute value',
    'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  ),
  OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: inheritedCountLimit(
    'attributes on one log record',
    'OTEL_ATTRIBUTE_COUNT_LIMIT',
  ),

  TRACEPARENT: variable({
    kind: traceparent(),
    default: undefined,
    defaultText: 'none',
    description:
      'Trace context handed down by the parent process (read once at start): in the plugin role, the plugin start span is its child (docs/plugin.md).',
    group: 'Environment carriers',
  }),
  TRACESTATE: variable({
    kind: memberList(32),
    default: undefined,
    defaultText: 'none',
    description: 'W3C tracestate that goes with TRACEPARENT.',
    group: 'Environment carriers',
  }),
  BAGGAGE: variable({
    kind: memberList(180),
    default: undefined,
    defaultText: 'none',
    description: 'W3C baggage handed down by the parent process; values of secret-looking keys are shown redacted.',
    group: 'Environment carriers',
  }),

  RPCPLUGIN_ROLE: variable({
    kind: enumeration(['plugin', 'host', 'auto'] as const),
    default: 'auto',
    description:
      'plugin, host, or auto: plugin when the go-plugin host variables PLUGIN_PROTOCOL_VERSIONS or PLUGIN_MIN_PORT are set, else host.',
    group: 'Plugin',
  }),
  RPCPLUGIN_MAGIC_COOKIE_KEY: variable({
    kind: environmentVariableName(),
    default: 'PLUGIN_MAGIC_COOKIE',
    description:
      'Name of the variable that holds the go-plugin handshake cookie; its value is never recorded or shown.',
    group: 'Plugin',
  }),
  RPCPLUGIN_LOG_FORMAT: variable({
    kind: enumeration(['pino', 'hclog'] as const),
    default: 'pino',
    description:
      "How the app's pino loggers write records: pino (unchanged) or hclog (one hclog JSON object per line, @level, @message, @timestamp, trace_id and span_id kept), which a go-plugin host such as Terraform logs at the record's level instead of debug. Never chosen automatically: it changes every destination's bytes (docs/logs.md).",
    group: 'Plugin',
  }),
  RPCPLUGIN_GRPC_CAPTURE_METADATA: variable({
    kind: metadataKeys(),
    default: [],
    defaultText: 'none',
    description:
      'Request metadata keys recorded as span attributes (rpc.grpc.request.metadata.<key>); values of secret-looking keys are redacted.',
    group: 'Plugin',
  }),
  // HTTP client header capture (src/agent/http, docs/http.md).
  RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS: variable({
    kind: httpHeaderNames(),
    default: [],
    defaultText: 'none',
    description:
      'Headers of outgoing HTTP requests recorded on their client spans (http.request.header.<name>); values of secret-looking names are redacted.',
    group: 'Plugin',
  }),
  RPCPLUGIN_HTTP_CAPTURE_RESPONSE_HEADERS: variable({
    kind: httpHeaderNames(),
    default: [],
    defaultText: 'none',
    description:
      'Headers of the responses to outgoing HTTP requests recorded on their client spans (http.response.header.<name>); values of secret-looking names are redacted.',
    group: 'Plugin',
  }),
};

export type Variables = typeof variables;
export type VariableName = keyof Variables;
/** What each variable resolves to: a value wherever the schema declares a default. */
export type Values = { [K in VariableName]: ValueOf<Variables[K]> };

export const VARIABLE_NAMES = Object.keys(variables) as VariableName[];

export function definitionOf(name: VariableName): AnyVariable {
  return variables[name] as unknown as AnyVariable;
}
