/**
 * OTLP over HTTP (protobuf or JSON) for the three signals, built from the exporter base that
 * @opentelemetry/exporter-*-otlp-proto use, but configured only from our validated Config: the
 * packaged exporters merge in OTEL_EXPORTER_OTLP_* from the environment themselves, a second and
 * unvalidated reader (docs/architecture.md, "Data flow").
 */
import { readFileSync } from 'node:fs';
import { OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import { createOtlpNetworkExportDelegate, ExporterMetrics, OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  type IExporterMetricsHelper,
  type ISerializer,
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  LogsExporterMetricsHelper,
  MetricsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Config, OtlpExporterConfig } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import type { ExitRequest } from '../lifecycle/exit-export.ts';
import { warn } from '../sdk/diagnostics.ts';
import { loadSibling } from '../sdk/load-bundle.ts';
import { GRPC_EXPORT_METHODS, type OtlpSignal } from './otlp-grpc-methods.ts';
import { createHttpTransport } from './otlp-http-transport.ts';
import { ProtobufSpanEncoder } from './otlp-span-encoder.ts';
import { TEMPORALITY } from './temporality.ts';

// The exporter base's own default: how many exports may be in flight at once.
const CONCURRENCY_LIMIT = 30;
const USER_AGENT = `rpcplugin-telemetry/${VERSION}`;

/** Where and how one signal is sent, resolved once (TLS files read) for the exporter and for exit-export.ts. */
export interface OtlpTarget {
  readonly url: string;
  readonly protocol: OtlpExporterConfig['protocol'];
  readonly json: boolean;
  /** The user's headers with our Content-Type, which they may not override. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly compression: 'gzip' | 'none';
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** Aborted when the final flush begins (lifecycle.ts): the HTTP transport stops retrying. */
  readonly finalFlush: AbortSignal;
}

export function resolveOtlpTarget(
  otlp: OtlpExporterConfig,
  variablePrefix: string,
  finalFlush: AbortSignal,
): OtlpTarget {
  const json = otlp.protocol === 'http/json';
  return {
    url: otlp.endpoint,
    protocol: otlp.protocol,
    json,
    headers: { ...otlp.headers, 'Content-Type': json ? 'application/json' : 'application/x-protobuf' },
    // The exporter base refuses 0; a zero timeout means "as short as possible".
    timeoutMs: Math.max(1, otlp.timeoutMs),
    compression: otlp.compression,
    tls: readTlsFiles(otlp, variablePrefix),
    finalFlush,
  };
}

/**
 * An export delegate like the exporter base's createOtlpHttpExportDelegate, on our transport
 * (otlp-http-transport.ts: nothing it does holds the process open).
 */
function httpExportDelegate<Internal>(
  target: OtlpTarget,
  serializer: ISerializer<Internal, unknown>,
  componentType: string,
  metricsHelper: IExporterMetricsHelper<Internal>,
) {
  return createOtlpNetworkExportDelegate(
    { timeoutMillis: target.timeoutMs, concurrencyLimit: CONCURRENCY_LIMIT, compression: target.compression },
    serializer,
    // The exporter's own metrics go nowhere: we give it no meter provider (no feedback loop).
    new ExporterMetrics({
      componentType,
      metricsHelper,
      url: target.url,
      meterProvider: undefined,
      responseAttributesFromError: () => ({}),
    }),
    createHttpTransport({
      url: target.url,
      headers: { ...target.headers, 'User-Agent': USER_AGENT },
      compression: target.compression,
      tls: target.tls,
      finalFlush: target.finalFlush,
    }),
  );
}

/** CA and client certificate files, read once at start; an unreadable one is a warning and is left out. */
function readTlsFiles(otlp: OtlpExporterConfig, variablePrefix: string): OtlpTarget['tls'] {
  const read = (path: string | undefined, variable: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      warn(
        `${variablePrefix}${variable}="${path}" cannot be read (${(error as Error).message}); exporting without it.`,
      );
      return undefined;
    }
  };
  const files = {
    ca: read(otlp.certificateFile, 'CERTIFICATE'),
    cert: read(otlp.clientCertificateFile, 'CLIENT_CERTIFICATE'),
    key: read(otlp.clientKeyFile, 'CLIENT_KEY'),
  };
  return Object.fromEntries(Object.entries(files).filter(([, value]) => value !== undefined));
}

/**
 * The request exit-export.ts sends for the records still pending when the process exits, over the
 * target's protocol; none when nothing is pending (the JSON serializers would still make a body:
 * `{"resourceSpans":[]}`, so callers check for records first).
 */
export function exitRequest(
  target: OtlpTarget,
  signal: OtlpSignal,
  body: Uint8Array | undefined,
  /** What the body holds, for the loss message: "3 spans" (see `counted`). */
  contents: string,
): ExitRequest | undefined {
  if (body === undefined || body.length === 0) return undefined;
  const gzip = target.compression === 'gzip';
  if (target.protocol === 'grpc') {
    // The metadata the gRPC exporter sends (otlp-grpc.ts): the user's headers, without Content-Type.
    const { 'Content-Type': _contentType, ...metadata } = target.headers;
    const url = new URL(target.url).origin;
    const headers = { ...metadata, 'User-Agent': USER_AGENT };
    return { url, grpcMethod: GRPC_EXPORT_METHODS[signal], headers, body, gzip, tls: target.tls, contents };
  }
  const headers = { ...target.headers, 'User-Agent': USER_AGENT };
  return { url: target.url, headers, body, gzip, tls: target.tls, contents };
}

/** "1 span", "3 spans". */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function spanSerializer(target: OtlpTarget) {
  return target.json ? JsonTraceSerializer : ProtobufSpanEncoder;
}

export function metricSerializer(target: OtlpTarget) {
  return target.json ? JsonMetricsSerializer : ProtobufMetricsSerializer;
}

export function logSerializer(target: OtlpTarget) {
  return target.json ? JsonLogsSerializer : ProtobufLogsSerializer;
}

type GrpcExporters = typeof import('./otlp-grpc.ts');

// OTLP/gRPC lives in its own bundle, with its own grpc-js: loaded only for a signal that uses it.
const grpcExporters = () => loadSibling<GrpcExporters>('agent-otlp-grpc.cjs');

export function createOtlpSpanExporter(target: OtlpTarget): SpanExporter {
  if (target.protocol === 'grpc') return grpcExporters().createGrpcSpanExporter(target);
  return new OTLPExporterBase<ReadableSpan[]>(
    httpExportDelegate(target, spanSerializer(target), 'otlp_http_span_exporter', TraceExporterMetricsHelper),
  );
}

export function createOtlpMetricExporter(
  target: OtlpTarget,
  temporality: Config['metrics']['temporality'],
): PushMetricExporter {
  if (target.protocol === 'grpc') return grpcExporters().createGrpcMetricExporter(target, temporality);
  return new OTLPMetricExporterBase(
    httpExportDelegate(target, metricSerializer(target), 'otlp_http_metric_exporter', MetricsExporterMetricsHelper),
    // Passed explicitly so the exporter does not read OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE itself.
    { temporalityPreference: TEMPORALITY[temporality] },
  );
}

export function createOtlpLogExporter(target: OtlpTarget): LogRecordExporter {
  if (target.protocol === 'grpc') return grpcExporters().createGrpcLogExporter(target);
  return new OTLPExporterBase<ReadableLogRecord[]>(
    httpExportDelegate(target, logSerializer(target), 'otlp_http_log_exporter', LogsExporterMetricsHelper),
  );
}
