/**
 * OTLP over HTTP (protobuf or JSON) for the three signals, built from the exporter base that
 * @opentelemetry/exporter-*-otlp-proto use, but configured only from our validated Config: the
 * packaged exporters merge in OTEL_EXPORTER_OTLP_* from the environment themselves, a second and
 * unvalidated reader (design: "one source of truth").
 */
import { readFileSync } from 'node:fs';
import { AggregationTemporalityPreference, OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { createOtlpHttpExportDelegate, httpAgentFactoryFromOptions } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  LogsExporterMetricsHelper,
  MetricsExporterMetricsHelper,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Config, OtlpExporterConfig } from '../env/index.ts';
import { VERSION } from '../version.ts';
import { warn } from './diagnostics.ts';

// The exporter base's own default: how many exports may be in flight at once.
const CONCURRENCY_LIMIT = 30;

function httpConfiguration(otlp: OtlpExporterConfig, variablePrefix: string) {
  const json = otlp.protocol === 'http/json';
  const fixedHeaders = { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' };
  const headers = { ...otlp.headers, ...fixedHeaders };
  return {
    url: otlp.endpoint,
    headers: async () => headers,
    // The exporter base refuses 0; a zero timeout means "as short as possible".
    timeoutMillis: Math.max(1, otlp.timeoutMs),
    concurrencyLimit: CONCURRENCY_LIMIT,
    compression: otlp.compression,
    agentFactory: httpAgentFactoryFromOptions({ keepAlive: true, ...readTlsFiles(otlp, variablePrefix) }),
    userAgent: `rpcplugin-telemetry/${VERSION}`,
  };
}

/** CA and client certificate files, read once at start; an unreadable one is a warning and is left out. */
function readTlsFiles(otlp: OtlpExporterConfig, variablePrefix: string): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
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

export function createOtlpSpanExporter(otlp: OtlpExporterConfig): SpanExporter {
  const serializer = otlp.protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  return new OTLPExporterBase<ReadableSpan[]>(
    createOtlpHttpExportDelegate(
      httpConfiguration(otlp, 'OTEL_EXPORTER_OTLP_TRACES_'),
      serializer,
      'otlp_http_span_exporter',
      TraceExporterMetricsHelper,
      undefined,
    ),
  );
}

const TEMPORALITY: Record<Config['metrics']['temporality'], AggregationTemporalityPreference> = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
};

export function createOtlpMetricExporter(metrics: Config['metrics']): PushMetricExporter {
  const serializer = metrics.otlp.protocol === 'http/json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  return new OTLPMetricExporterBase(
    createOtlpHttpExportDelegate(
      httpConfiguration(metrics.otlp, 'OTEL_EXPORTER_OTLP_METRICS_'),
      serializer,
      'otlp_http_metric_exporter',
      MetricsExporterMetricsHelper,
      undefined,
    ),
    // Passed explicitly so the exporter does not read OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE itself.
    { temporalityPreference: TEMPORALITY[metrics.temporality] },
  );
}

export function createOtlpLogExporter(otlp: OtlpExporterConfig): LogRecordExporter {
  const serializer = otlp.protocol === 'http/json' ? JsonLogsSerializer : ProtobufLogsSerializer;
  return new OTLPExporterBase<ReadableLogRecord[]>(
    createOtlpHttpExportDelegate(
      httpConfiguration(otlp, 'OTEL_EXPORTER_OTLP_LOGS_'),
      serializer,
      'otlp_http_log_exporter',
      LogsExporterMetricsHelper,
      undefined,
    ),
  );
}
