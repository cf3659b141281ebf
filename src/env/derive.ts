/**
 * Rules that join variables: per-signal OTLP settings inherited from the generic ones, limits that
 * must not exceed others, the plugin role. Each adjustment records its source as `derived`, or a
 * problem when the user set the conflicting values.
 */
import type { BatchConfig, Config, Instrumentation, OtlpExporterConfig, RpcConventions, Signal } from './config.ts';
import type { Resolution } from './load-config.ts';
import { INSTRUMENTATIONS, type Values, type VariableName } from './variables.ts';

// go-plugin's host sets these for the plugin it launches (hashicorp/go-plugin client.go).
const PLUGIN_HOST_VARIABLES = ['PLUGIN_PROTOCOL_VERSIONS', 'PLUGIN_MIN_PORT'] as const;

const DEFAULT_OTLP_ENDPOINT = { http: 'http://localhost:4318/', grpc: 'http://localhost:4317/' } as const;

export function deriveConfig(resolution: Resolution): Config {
  const { values } = resolution;
  const limits = deriveLimits(resolution);
  return {
    enabled: values.RPCPLUGIN_TELEMETRY === true && values.OTEL_SDK_DISABLED !== true,
    strict: values.RPCPLUGIN_STRICT === true,
    denoBuiltinTelemetry: values.OTEL_DENO === true,
    logLevel: need(values, 'OTEL_LOG_LEVEL'),
    shutdownTimeoutMs: need(values, 'RPCPLUGIN_SHUTDOWN_TIMEOUT'),
    instrumentations: deriveInstrumentations(need(values, 'RPCPLUGIN_INSTRUMENTATIONS')),
    rpcConventions: deriveRpcConventions(need(values, 'OTEL_SEMCONV_STABILITY_OPT_IN')),
    resource: {
      serviceName: values.OTEL_SERVICE_NAME ?? values.OTEL_RESOURCE_ATTRIBUTES?.['service.name'],
      attributes: values.OTEL_RESOURCE_ATTRIBUTES ?? {},
    },
    propagators: need(values, 'OTEL_PROPAGATORS').filter((name) => name !== 'none'),
    sampler: { name: need(values, 'OTEL_TRACES_SAMPLER'), ratio: need(values, 'OTEL_TRACES_SAMPLER_ARG') },
    traces: {
      exporters: need(values, 'OTEL_TRACES_EXPORTER').filter((name) => name !== 'none'),
      otlp: deriveOtlp(resolution, 'traces'),
      batch: deriveBatch(resolution, 'OTEL_BSP_'),
      limits: limits.span,
    },
    metrics: {
      exporters: need(values, 'OTEL_METRICS_EXPORTER').filter((name) => name !== 'none'),
      otlp: deriveOtlp(resolution, 'metrics'),
      temporality: need(values, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE'),
      exportIntervalMs: need(values, 'OTEL_METRIC_EXPORT_INTERVAL'),
      exportTimeoutMs: deriveAtMost(resolution, 'OTEL_METRIC_EXPORT_TIMEOUT', 'OTEL_METRIC_EXPORT_INTERVAL'),
      prometheus: {
        host: need(values, 'OTEL_EXPORTER_PROMETHEUS_HOST'),
        port: need(values, 'OTEL_EXPORTER_PROMETHEUS_PORT'),
      },
    },
    logs: {
      exporters: need(values, 'OTEL_LOGS_EXPORTER').filter((name) => name !== 'none'),
      otlp: deriveOtlp(resolution, 'logs'),
      batch: deriveBatch(resolution, 'OTEL_BLRP_'),
      limits: limits.logRecord,
    },
    parentContext: {
      traceparent: values.TRACEPARENT,
      // tracestate means nothing without the traceparent it belongs to.
      tracestate: values.TRACEPARENT === undefined ? undefined : values.TRACESTATE,
      baggage: values.BAGGAGE,
    },
    plugin: {
      ...deriveRole(resolution),
      magicCookieKey: need(values, 'RPCPLUGIN_MAGIC_COOKIE_KEY'),
      captureMetadata: need(values, 'RPCPLUGIN_GRPC_CAPTURE_METADATA'),
    },
  };
}

/** A value that has a default and so is always resolved. */
function need<K extends VariableName>(values: Values, name: K): NonNullable<Values[K]> {
  const value = values[name];
  if (value === undefined || value === null) throw new Error(`${name} has no default`);
  return value;
}

function deriveInstrumentations(chosen: readonly string[]): Record<Instrumentation, boolean> {
  const all = chosen.includes('all');
  return Object.fromEntries(INSTRUMENTATIONS.map((name) => [name, all || chosen.includes(name)])) as Record<
    Instrumentation,
    boolean
  >;
}

function deriveRpcConventions(optIn: readonly string[]): RpcConventions {
  if (optIn.includes('rpc/dup')) return 'both';
  return optIn.includes('rpc') ? 'stable' : 'old';
}

const SIGNAL_PREFIX = {
  traces: 'OTEL_EXPORTER_OTLP_TRACES_',
  metrics: 'OTEL_EXPORTER_OTLP_METRICS_',
  logs: 'OTEL_EXPORTER_OTLP_LOGS_',
} as const;

type OtlpSetting = 'PROTOCOL' | 'TIMEOUT' | 'COMPRESSION' | 'CERTIFICATE' | 'CLIENT_KEY' | 'CLIENT_CERTIFICATE';

/**
 * A signal's OTLP exporter settings. The signal's own variable wins; otherwise the generic one is
 * inherited, and an endpoint inherited for an http protocol gets `v1/{signal}` appended (the spec
 * appends it only to the generic variable).
 */
function deriveOtlp(resolution: Resolution, signal: Signal): OtlpExporterConfig {
  const prefix = SIGNAL_PREFIX[signal];
  const inherit = <S extends OtlpSetting>(setting: S) => {
    const own = `${prefix}${setting}` as const;
    resolution.inherit(own, `OTEL_EXPORTER_OTLP_${setting}`);
    return resolution.values[own] as Values[`OTEL_EXPORTER_OTLP_${S}`];
  };
  const protocol = inherit('PROTOCOL') ?? 'http/protobuf';
  const endpointName = `${prefix}ENDPOINT` as const;
  if (resolution.values[endpointName] === undefined) {
    const generic = resolution.values.OTEL_EXPORTER_OTLP_ENDPOINT;
    const base = generic ?? DEFAULT_OTLP_ENDPOINT[protocol === 'grpc' ? 'grpc' : 'http'];
    const endpoint = protocol === 'grpc' ? base : `${base}${base.endsWith('/') ? '' : '/'}v1/${signal}`;
    resolution.set(endpointName, endpoint, generic === undefined ? 'default' : 'derived');
  }
  const genericHeaders = resolution.values.OTEL_EXPORTER_OTLP_HEADERS;
  const ownHeaders = resolution.values[`${prefix}HEADERS`];
  if (genericHeaders !== undefined) {
    resolution.set(`${prefix}HEADERS`, { ...genericHeaders, ...ownHeaders }, ownHeaders ? 'environment' : 'derived');
  }
  return {
    endpoint: resolution.values[endpointName] as string,
    protocol,
    headers: resolution.values[`${prefix}HEADERS`] ?? {},
    timeoutMs: inherit('TIMEOUT') ?? 10000,
    compression: inherit('COMPRESSION') ?? 'none',
    certificateFile: inherit('CERTIFICATE'),
    clientKeyFile: inherit('CLIENT_KEY'),
    clientCertificateFile: inherit('CLIENT_CERTIFICATE'),
  };
}

function deriveBatch(resolution: Resolution, prefix: 'OTEL_BSP_' | 'OTEL_BLRP_'): BatchConfig {
  return {
    scheduleDelayMs: need(resolution.values, `${prefix}SCHEDULE_DELAY`),
    exportTimeoutMs: need(resolution.values, `${prefix}EXPORT_TIMEOUT`),
    maxQueueSize: need(resolution.values, `${prefix}MAX_QUEUE_SIZE`),
    maxExportBatchSize: deriveAtMost(resolution, `${prefix}MAX_EXPORT_BATCH_SIZE`, `${prefix}MAX_QUEUE_SIZE`),
  };
}

type NumberVariable = {
  [K in VariableName]: NonNullable<Values[K]> extends number ? K : never;
}[VariableName];

/**
 * `name` may not exceed `limit` (batch size ≤ queue size, metric export timeout ≤ interval). When
 * only the defaults collide the value follows quietly; when the user set it too high, it is a problem.
 */
function deriveAtMost(resolution: Resolution, name: NumberVariable, limit: NumberVariable): number {
  const value = need(resolution.values, name);
  const ceiling = need(resolution.values, limit);
  if (value <= ceiling) return value;
  if (resolution.sources[name] === 'environment') {
    const text = resolution.text(name) ?? String(value);
    resolution.report(name, text, `is above ${limit} (${ceiling})`, String(ceiling), `a whole number up to ${limit}`);
  }
  resolution.set(name, ceiling, 'derived');
  return ceiling;
}

function deriveLimits(resolution: Resolution) {
  const { values } = resolution;
  const inherit = (name: NumberVariable, generic: NumberVariable) => {
    resolution.inherit(name, generic);
    return values[name] as number | undefined;
  };
  const valueLength = (name: NumberVariable) => inherit(name, 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT');
  const count = (name: NumberVariable) => inherit(name, 'OTEL_ATTRIBUTE_COUNT_LIMIT') ?? 128;
  return {
    span: {
      attributeValueLengthLimit: valueLength('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
      attributeCountLimit: count('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT'),
      eventCountLimit: need(values, 'OTEL_SPAN_EVENT_COUNT_LIMIT'),
      linkCountLimit: need(values, 'OTEL_SPAN_LINK_COUNT_LIMIT'),
      attributePerEventCountLimit: need(values, 'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT'),
      attributePerLinkCountLimit: need(values, 'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT'),
    },
    logRecord: {
      attributeValueLengthLimit: valueLength('OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
      attributeCountLimit: count('OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT'),
    },
  };
}

function deriveRole(resolution: Resolution): Pick<Config['plugin'], 'role' | 'roleReason'> {
  const chosen = need(resolution.values, 'RPCPLUGIN_ROLE');
  if (chosen !== 'auto') return { role: chosen, roleReason: 'RPCPLUGIN_ROLE' };
  const hostVariable = PLUGIN_HOST_VARIABLES.find((name) => resolution.text(name) !== undefined);
  const role = hostVariable ? 'plugin' : 'host';
  resolution.set('RPCPLUGIN_ROLE', role, 'derived');
  return {
    role,
    roleReason: hostVariable ? `auto: ${hostVariable} is set` : 'auto: no go-plugin host variable is set',
  };
}
