/**
 * Exporters on our own OTLP/HTTP transport for the batch queue's and the periodic reader's tests:
 * what they export goes over real HTTP to a test server, as JSON the test can read back. The results
 * reach the queue and the reader as the exporter base's delegate reports them (otlp-export-delegate.js).
 */
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { type ExportResponse, type IExporterTransport, OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createHttpTransport } from '../../src/agent/exporters/otlp-http-transport.ts';
import type { RecordExporter } from '../../src/agent/pipelines/batch-queue.ts';

/** Our HTTP transport posting uncompressed JSON to `url` (a test server), with the final flush it obeys. */
export function jsonTransport(url: string, finalFlush: AbortSignal): IExporterTransport {
  return createHttpTransport({
    url,
    headers: { 'Content-Type': 'application/json' },
    compression: 'none',
    tls: {},
    finalFlush,
  });
}

/** An exporter that also counts its shutdowns. */
export interface CountingShutdowns {
  readonly shutdowns: number;
}

/** The delegate's translation of a transport's answer into an export result. */
export function exportResult(response: ExportResponse): ExportResult {
  if (response.status === 'success') return { code: ExportResultCode.SUCCESS };
  const error = response.error ?? new OTLPExporterError('Export failed with retryable status');
  return { code: ExportResultCode.FAILED, error };
}

/** Each batch goes out as one JSON array, e.g. `[0,1,2]`. */
export function jsonRecordExporter<T>(
  transport: IExporterTransport,
  timeoutMs: number,
): RecordExporter<T> & CountingShutdowns {
  let shutdowns = 0;
  return {
    export(records, done) {
      transport.send(Buffer.from(JSON.stringify(records)), timeoutMs).then((response) => done(exportResult(response)));
    },
    async shutdown() {
      shutdowns += 1;
      transport.shutdown();
    },
    get shutdowns() {
      return shutdowns;
    },
  };
}

/** Each collection goes out as an OTLP/JSON ExportMetricsServiceRequest. */
export function jsonMetricExporter(
  transport: IExporterTransport,
  timeoutMs: number,
): PushMetricExporter & CountingShutdowns {
  let shutdowns = 0;
  return {
    export(metrics: ResourceMetrics, done) {
      const body = JsonMetricsSerializer.serializeRequest(metrics);
      if (body === undefined) throw new Error('the metrics serializer made no request');
      transport.send(body, timeoutMs).then((response) => done(exportResult(response)));
    },
    async forceFlush() {},
    async shutdown() {
      shutdowns += 1;
      transport.shutdown();
    },
    get shutdowns() {
      return shutdowns;
    },
  };
}
