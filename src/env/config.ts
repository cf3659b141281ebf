/** The typed configuration the agent starts from: every rule of the environment already applied. */
import type { INSTRUMENTATIONS, LOG_LEVELS, OTLP_PROTOCOLS, PROPAGATORS, SAMPLERS, Signal } from './variables.ts';

export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
export type Propagator = Exclude<(typeof PROPAGATORS)[number], 'none'>;
export type SamplerName = (typeof SAMPLERS)[number];
export type Instrumentation = (typeof INSTRUMENTATIONS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type { Signal };

export interface OtlpExporterConfig {
  /** Full URL of the signal's endpoint (path included for the http protocols). */
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  /** Generic headers merged with the signal's own, the signal's winning per key. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly compression: 'gzip' | 'none';
  readonly certificateFile: string | undefined;
  readonly clientKeyFile: string | undefined;
  readonly clientCertificateFile: string | undefined;
}

export interface BatchConfig {
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
}

export interface AttributeLimits {
  readonly attributeValueLengthLimit: number | undefined;
  readonly attributeCountLimit: number;
}

export interface SpanLimits extends AttributeLimits {
  readonly eventCountLimit: number;
  readonly linkCountLimit: number;
  readonly attributePerEventCountLimit: number;
  readonly attributePerLinkCountLimit: number;
}

/** Which RPC semantic conventions gRPC telemetry follows (OTEL_SEMCONV_STABILITY_OPT_IN). */
export type RpcConventions = 'old' | 'stable' | 'both';

export interface Config {
  /** false when RPCPLUGIN_TELEMETRY=false or OTEL_SDK_DISABLED=true: nothing is started. */
  readonly enabled: boolean;
  readonly strict: boolean;
  /** OTEL_DENO=true: on Deno, Deno's built-in OpenTelemetry owns export and the agent stands aside. */
  readonly denoBuiltinTelemetry: boolean;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  readonly instrumentations: Readonly<Record<Instrumentation, boolean>>;
  readonly rpcConventions: RpcConventions;
  readonly resource: {
    /** undefined: the agent derives it (package.json name, else unknown_service:<runtime>). */
    readonly serviceName: string | undefined;
    readonly attributes: Readonly<Record<string, string>>;
  };
  /** Empty when OTEL_PROPAGATORS=none. */
  readonly propagators: readonly Propagator[];
  readonly sampler: { readonly name: SamplerName; readonly ratio: number };
  readonly traces: {
    readonly exporters: readonly ('otlp' | 'console')[];
    readonly otlp: OtlpExporterConfig;
    readonly batch: BatchConfig;
    readonly limits: SpanLimits;
  };
  readonly metrics: {
    readonly exporters: readonly ('otlp' | 'prometheus' | 'console')[];
    readonly otlp: OtlpExporterConfig;
    readonly temporality: 'cumulative' | 'delta' | 'lowmemory';
    readonly exportIntervalMs: number;
    readonly exportTimeoutMs: number;
    readonly prometheus: { readonly host: string; readonly port: number };
  };
  readonly logs: {
    readonly exporters: readonly ('otlp' | 'console')[];
    readonly otlp: OtlpExporterConfig;
    readonly batch: BatchConfig;
    readonly limits: AttributeLimits;
  };
  /** Context handed down through the environment by a parent process, read once at start. */
  readonly parentContext: {
    readonly traceparent: string | undefined;
    readonly tracestate: string | undefined;
    readonly baggage: string | undefined;
  };
  readonly plugin: {
    readonly role: 'plugin' | 'host';
    /** Why that role: RPCPLUGIN_ROLE, or the go-plugin variable that made `auto` choose plugin. */
    readonly roleReason: string;
    /** Name of the variable holding the handshake cookie; its value is never part of the config. */
    readonly magicCookieKey: string;
    readonly captureMetadata: readonly string[];
    /** How the app's pino loggers write their records: as pino does, or as hclog JSON for go-plugin hosts. */
    readonly logFormat: 'pino' | 'hclog';
  };
  /** Outgoing HTTP requests (RPCPLUGIN_HTTP_CAPTURE_*): header names recorded on client spans, lowercase. */
  readonly http: {
    readonly captureRequestHeaders: readonly string[];
    readonly captureResponseHeaders: readonly string[];
  };
}
