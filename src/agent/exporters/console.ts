/**
 * OTEL_*_EXPORTER=console: one OTLP/JSON line per export, on stderr. The SDK's console exporters
 * print to stdout with console.dir, which would corrupt a go-plugin handshake.
 */
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { writeStderr } from '../runtime/stderr.ts';

const decoder = new TextDecoder();

/** The serializers' JSON is a whole ExportServiceRequest ({"resourceSpans": …}), one per line. */
function writeLine(payload: Uint8Array | undefined, done: (result: ExportResult) => void): void {
  try {
    if (payload !== undefined) writeStderr(`${decoder.decode(payload)}\n`);
    done({ code: ExportResultCode.SUCCESS });
  } catch (error) {
    done({ code: ExportResultCode.FAILED, error: error as Error });
  }
}

export class StderrSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    writeLine(JsonTraceSerializer.serializeRequest(spans), done);
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

export class StderrMetricExporter implements PushMetricExporter {
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    writeLine(JsonMetricsSerializer.serializeRequest(metrics), done);
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}

export class StderrLogExporter implements LogRecordExporter {
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    writeLine(JsonLogsSerializer.serializeRequest(logs), done);
  }
  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}
