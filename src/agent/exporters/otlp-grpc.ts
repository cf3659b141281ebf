/**
 * OTLP over gRPC for the three signals, in its own bundle (dist/agent-otlp-grpc.cjs, with its own
 * copy of @grpc/grpc-js) loaded only when a signal's protocol is grpc. Built from the exporter base
 * the @opentelemetry/exporter-*-otlp-grpc packages use, configured from our Config only: those
 * packages would read OTEL_EXPORTER_OTLP_* from the environment again.
 * Its own grpc-js copy also keeps the agent's traffic out of reach of the app's instrumented grpc-js.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import {
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
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { GRPC_EXPORT_METHODS } from './otlp-grpc-methods.ts';
import type { OtlpTarget } from './otlp-http.ts';
import { TEMPORALITY } from './temporality.ts';

// The exporter base's own default: how many exports may be in flight at once.
const CONCURRENCY_LIMIT = 30;

function grpcConfiguration(target: OtlpTarget) {
  const url = new URL(target.url);
  const secure = url.protocol === 'https:';
  const channelCredentials = secure
    ? credentials.createSsl(target.tls.ca ?? null, target.tls.key ?? null, target.tls.cert ?? null)
    : credentials.createInsecure();
  const { 'Content-Type': _contentType, ...headers } = target.headers;
  return {
    // grpc-js takes host:port; a path in the URL has no meaning for gRPC.
    url: url.host,
    metadata: () => {
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
      return metadata;
    },
    credentials: () => channelCredentials,
    timeoutMillis: target.timeoutMs,
    concurrencyLimit: CONCURRENCY_LIMIT,
    compression: target.compression,
    userAgent: `rpcplugin-telemetry/${VERSION}`,
  };
}

export function createGrpcSpanExporter(target: OtlpTarget): SpanExporter {
  return new OTLPExporterBase<ReadableSpan[]>(
    createOtlpGrpcExportDelegate(
      grpcConfiguration(target),
      ProtobufTraceSerializer,
      'otlp_grpc_span_exporter',
      TraceExporterMetricsHelper,
      undefined,
      'TraceExportService',
      GRPC_EXPORT_METHODS.traces,
    ),
  );
}

export function createGrpcMetricExporter(
  target: OtlpTarget,
  temporality: Config['metrics']['temporality'],
): PushMetricExporter {
  return new OTLPMetricExporterBase(
    createOtlpGrpcExportDelegate(
      grpcConfiguration(target),
      ProtobufMetricsSerializer,
      'otlp_grpc_metric_exporter',
      MetricsExporterMetricsHelper,
      undefined,
      'MetricsExportService',
      GRPC_EXPORT_METHODS.metrics,
    ),
    { temporalityPreference: TEMPORALITY[temporality] },
  );
}

export function createGrpcLogExporter(target: OtlpTarget): LogRecordExporter {
  return new OTLPExporterBase<ReadableLogRecord[]>(
    createOtlpGrpcExportDelegate(
      grpcConfiguration(target),
      ProtobufLogsSerializer,
      'otlp_grpc_log_exporter',
      LogsExporterMetricsHelper,
      undefined,
      'LogsExportService',
      GRPC_EXPORT_METHODS.logs,
    ),
  );
}
