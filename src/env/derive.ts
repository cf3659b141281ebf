/**
 * Rules that join variables: per-signal OTLP settings inherited from the generic ones, limits that
 * must not exceed others, the plugin role. A pure function of the values resolved one by one: it
 * returns the Config, the settings it changed (source `derived`, or `default` when only defaults
 * were involved) and the problems it found; load-config.ts records them.
 */
import type { BatchConfig, Config, Instrumentation, OtlpExporterConfig, RpcConventions, Signal } from './config.ts';
import type { SettingSource } from './settings.ts';
import {
  DEFAULT_OTLP_ENDPOINTS,
  INSTRUMENTATIONS,
  PLUGIN_SHUTDOWN_TIMEOUT_MS,
  type Values,
  type VariableName,
} from './variables.ts';

// go-plugin's host sets these for the plugin it launches (hashicorp/go-plugin client.go).
const PLUGIN_HOST_VARIABLES = ['PLUGIN_PROTOCOL_VERSIONS', 'PLUGIN_MIN_PORT'] as const;

/** Every variable resolved on its own (its value, or its default), before the rules that join them. */
export interface ResolvedVariables {
  readonly values: Readonly<Values>;
  readonly sources: Readonly<Record<VariableName, SettingSource>>;
  /** The environment's trimmed text for any name; undefined when unset or empty. */
  text(name: string): string | undefined;
}

/** A variable whose value in force differs from what it resolved to on its own. */
export type DerivedSetting = {
  [K in VariableName]: {
    readonly name: K;
    readonly value: Values[K];
    readonly source: SettingSource;
    /** How a message names this value when it replaces a rejected one ("the plugin role's default 1500"). */
    readonly using?: string;
  };
}[VariableName];

/** A conflict between variables the user set: `text` is the raw text of `variable`, for the message. */
export interface DerivedProblem {
  readonly variable: VariableName;
  readonly text: string;
  readonly issue: string;
  readonly accepted: string;
  readonly using: string;
}

export interface Derivation {
  readonly config: Config;
  /** In the order they were derived; a later entry for the same variable wins. */
  readonly settings: readonly DerivedSetting[];
  readonly problems: readonly DerivedProblem[];
}

export function deriveConfig(resolved: ResolvedVariables): Derivation {
  const derivation = new DerivationRecord(resolved);
  return { config: derivation.config(), settings: derivation.settings, problems: derivation.problems };
}

type NumberVariable = {
  [K in VariableName]: Values[K] extends number ? K : never;
}[VariableName];

const SIGNAL_PREFIX = {
  traces: 'OTEL_EXPORTER_OTLP_TRACES_',
  metrics: 'OTEL_EXPORTER_OTLP_METRICS_',
  logs: 'OTEL_EXPORTER_OTLP_LOGS_',
} as const;

/** One derivation: reads the resolved values, never changes them, and notes what it derived. */
class DerivationRecord {
  readonly settings: DerivedSetting[] = [];
  readonly problems: DerivedProblem[] = [];
  private readonly values: Readonly<Values>;

  constructor(private readonly resolved: ResolvedVariables) {
    this.values = resolved.values;
  }

  config(): Config {
    const { values } = this;
    const limits = this.limits();
    const plugin = this.role();
    return {
      enabled: values.RPCPLUGIN_TELEMETRY && !values.OTEL_SDK_DISABLED,
      strict: values.RPCPLUGIN_STRICT,
      denoBuiltinTelemetry: values.OTEL_DENO,
      logLevel: values.OTEL_LOG_LEVEL,
      shutdownTimeoutMs: this.shutdownTimeout(plugin.role),
      instrumentations: instrumentationsOf(values.RPCPLUGIN_INSTRUMENTATIONS),
      rpcConventions: rpcConventionsOf(values.OTEL_SEMCONV_STABILITY_OPT_IN),
      resource: {
        serviceName: values.OTEL_SERVICE_NAME ?? values.OTEL_RESOURCE_ATTRIBUTES?.['service.name'],
        attributes: values.OTEL_RESOURCE_ATTRIBUTES ?? {},
      },
      propagators: values.OTEL_PROPAGATORS.filter((name) => name !== 'none'),
      sampler: { name: values.OTEL_TRACES_SAMPLER, ratio: values.OTEL_TRACES_SAMPLER_ARG },
      traces: {
        exporters: values.OTEL_TRACES_EXPORTER.filter((name) => name !== 'none'),
        otlp: this.otlp('traces'),
        batch: this.batch('OTEL_BSP_'),
        limits: limits.span,
      },
      metrics: {
        exporters: values.OTEL_METRICS_EXPORTER.filter((name) => name !== 'none'),
        otlp: this.otlp('metrics'),
        temporality: values.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
        exportIntervalMs: values.OTEL_METRIC_EXPORT_INTERVAL,
        exportTimeoutMs: this.atMost('OTEL_METRIC_EXPORT_TIMEOUT', 'OTEL_METRIC_EXPORT_INTERVAL'),
        prometheus: { host: values.OTEL_EXPORTER_PROMETHEUS_HOST, port: values.OTEL_EXPORTER_PROMETHEUS_PORT },
      },
      logs: {
        exporters: values.OTEL_LOGS_EXPORTER.filter((name) => name !== 'none'),
        otlp: this.otlp('logs'),
        batch: this.batch('OTEL_BLRP_'),
        limits: limits.logRecord,
      },
      parentContext: {
        traceparent: values.TRACEPARENT,
        // tracestate means nothing without the traceparent it belongs to.
        tracestate: values.TRACEPARENT === undefined ? undefined : values.TRACESTATE,
        baggage: values.BAGGAGE,
      },
      plugin: {
        ...plugin,
        magicCookieKey: values.RPCPLUGIN_MAGIC_COOKIE_KEY,
        captureMetadata: values.RPCPLUGIN_GRPC_CAPTURE_METADATA,
        logFormat: values.RPCPLUGIN_LOG_FORMAT,
      },
      http: {
        captureRequestHeaders: values.RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS,
        captureResponseHeaders: values.RPCPLUGIN_HTTP_CAPTURE_RESPONSE_HEADERS,
      },
    };
  }

  private note<K extends VariableName>(name: K, value: Values[K], source: SettingSource, using?: string): void {
    this.settings.push(
      (using === undefined ? { name, value, source } : { name, value, source, using }) as DerivedSetting,
    );
  }

  /** An unset variable takes the value of the one it inherits from (a signal's OTLP setting, a span limit). */
  private inherit<K extends VariableName, F extends VariableName>(
    name: K,
    from: F,
  ): NonNullable<Values[K]> | Values[F] {
    const own = this.values[name];
    if (own !== undefined) return own;
    const inherited = this.values[from];
    if (inherited !== undefined) {
      const source = this.resolved.sources[from] === 'default' ? 'default' : 'derived';
      this.note(name, inherited as Values[K], source);
    }
    return inherited;
  }

  /**
   * A signal's OTLP exporter settings. The signal's own variable wins; otherwise the generic one is
   * inherited, and an endpoint inherited for an http protocol gets `v1/{signal}` appended (the spec
   * appends it only to the generic variable).
   */
  private otlp(signal: Signal): OtlpExporterConfig {
    const prefix = SIGNAL_PREFIX[signal];
    const protocol = this.inherit(`${prefix}PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL');
    return {
      endpoint: this.endpoint(signal, protocol === 'grpc'),
      protocol,
      headers: this.headers(`${prefix}HEADERS`),
      timeoutMs: this.inherit(`${prefix}TIMEOUT`, 'OTEL_EXPORTER_OTLP_TIMEOUT'),
      compression: this.inherit(`${prefix}COMPRESSION`, 'OTEL_EXPORTER_OTLP_COMPRESSION'),
      certificateFile: this.inherit(`${prefix}CERTIFICATE`, 'OTEL_EXPORTER_OTLP_CERTIFICATE'),
      clientKeyFile: this.inherit(`${prefix}CLIENT_KEY`, 'OTEL_EXPORTER_OTLP_CLIENT_KEY'),
      clientCertificateFile: this.inherit(`${prefix}CLIENT_CERTIFICATE`, 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'),
    };
  }

  private endpoint(signal: Signal, grpc: boolean): string {
    const name = `${SIGNAL_PREFIX[signal]}ENDPOINT` as const;
    const own = this.values[name];
    if (own !== undefined) return own;
    const generic = this.values.OTEL_EXPORTER_OTLP_ENDPOINT;
    const base = generic ?? DEFAULT_OTLP_ENDPOINTS[grpc ? 'grpc' : 'http'];
    const endpoint = grpc ? base : `${base}${base.endsWith('/') ? '' : '/'}v1/${signal}`;
    this.note(name, endpoint, generic === undefined ? 'default' : 'derived');
    return endpoint;
  }

  /** Generic headers merged with the signal's own, the signal's winning per key. */
  private headers(name: `${(typeof SIGNAL_PREFIX)[Signal]}HEADERS`): Readonly<Record<string, string>> {
    const generic = this.values.OTEL_EXPORTER_OTLP_HEADERS;
    const own = this.values[name];
    if (generic === undefined) return own ?? {};
    const merged = { ...generic, ...own };
    this.note(name, merged, own ? 'environment' : 'derived');
    return merged;
  }

  private batch(prefix: 'OTEL_BSP_' | 'OTEL_BLRP_'): BatchConfig {
    return {
      scheduleDelayMs: this.values[`${prefix}SCHEDULE_DELAY`],
      exportTimeoutMs: this.values[`${prefix}EXPORT_TIMEOUT`],
      maxQueueSize: this.values[`${prefix}MAX_QUEUE_SIZE`],
      maxExportBatchSize: this.atMost(`${prefix}MAX_EXPORT_BATCH_SIZE`, `${prefix}MAX_QUEUE_SIZE`),
    };
  }

  /**
   * `name` may not exceed `limit` (batch size ≤ queue size, metric export timeout ≤ interval). When
   * only the defaults collide the value follows quietly; when the user set it too high, it is a problem.
   */
  private atMost(name: NumberVariable, limit: NumberVariable): number {
    const value = this.values[name];
    const ceiling = this.values[limit];
    if (value <= ceiling) return value;
    if (this.resolved.sources[name] === 'environment') {
      this.problems.push({
        variable: name,
        text: this.resolved.text(name) ?? String(value),
        issue: `is above ${limit} (${ceiling})`,
        accepted: `a whole number up to ${limit}`,
        using: String(ceiling),
      });
    }
    this.note(name, ceiling, 'derived');
    return ceiling;
  }

  private limits() {
    const valueLength = (
      name: 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT' | 'OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT',
    ) => this.inherit(name, 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT');
    const count = (name: 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT' | 'OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT') =>
      this.inherit(name, 'OTEL_ATTRIBUTE_COUNT_LIMIT');
    const { values } = this;
    return {
      span: {
        attributeValueLengthLimit: valueLength('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
        attributeCountLimit: count('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT'),
        eventCountLimit: values.OTEL_SPAN_EVENT_COUNT_LIMIT,
        linkCountLimit: values.OTEL_SPAN_LINK_COUNT_LIMIT,
        attributePerEventCountLimit: values.OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
        attributePerLinkCountLimit: values.OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
      },
      logRecord: {
        attributeValueLengthLimit: valueLength('OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
        attributeCountLimit: count('OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT'),
      },
    };
  }

  /** A plugin's final flush must end before its host's kill: a shorter default, unless the user set one. */
  private shutdownTimeout(role: Config['plugin']['role']): number {
    if (role !== 'plugin' || this.resolved.sources.RPCPLUGIN_SHUTDOWN_TIMEOUT !== 'default') {
      return this.values.RPCPLUGIN_SHUTDOWN_TIMEOUT;
    }
    this.note(
      'RPCPLUGIN_SHUTDOWN_TIMEOUT',
      PLUGIN_SHUTDOWN_TIMEOUT_MS,
      'derived',
      `the plugin role's default ${PLUGIN_SHUTDOWN_TIMEOUT_MS}`,
    );
    return PLUGIN_SHUTDOWN_TIMEOUT_MS;
  }

  private role(): Pick<Config['plugin'], 'role' | 'roleReason'> {
    const chosen = this.values.RPCPLUGIN_ROLE;
    if (chosen !== 'auto') return { role: chosen, roleReason: 'RPCPLUGIN_ROLE' };
    const hostVariable = PLUGIN_HOST_VARIABLES.find((name) => this.resolved.text(name) !== undefined);
    const role = hostVariable ? 'plugin' : 'host';
    this.note('RPCPLUGIN_ROLE', role, 'derived');
    return {
      role,
      roleReason: hostVariable ? `auto: ${hostVariable} is set` : 'auto: no go-plugin host variable is set',
    };
  }
}

function instrumentationsOf(chosen: readonly string[]): Record<Instrumentation, boolean> {
  const all = chosen.includes('all');
  return Object.fromEntries(INSTRUMENTATIONS.map((name) => [name, all || chosen.includes(name)])) as Record<
    Instrumentation,
    boolean
  >;
}

function rpcConventionsOf(optIn: readonly string[]): RpcConventions {
  if (optIn.includes('rpc/dup')) return 'both';
  return optIn.includes('rpc') ? 'stable' : 'old';
}
