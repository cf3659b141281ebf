import type { Resource } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordProcessor,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import type { Config } from '../env/index.ts';
import { StderrLogExporter } from './console-exporters.ts';
import { createOtlpLogExporter } from './otlp-http.ts';
import { unsupportedProtocol } from './unsupported.ts';

export function createLoggerProvider(config: Config, resource: Resource): LoggerProvider {
  const { logs } = config;
  const processors: LogRecordProcessor[] = [];
  for (const exporter of logs.exporters) {
    if (exporter === 'console') {
      processors.push(new SimpleLogRecordProcessor({ exporter: new StderrLogExporter() }));
    } else if (unsupportedProtocol(logs.otlp, 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL') === undefined) {
      processors.push(
        new BatchLogRecordProcessor({
          exporter: createOtlpLogExporter(logs.otlp),
          maxQueueSize: logs.batch.maxQueueSize,
          maxExportBatchSize: logs.batch.maxExportBatchSize,
          scheduledDelayMillis: logs.batch.scheduleDelayMs,
          exportTimeoutMillis: logs.batch.exportTimeoutMs,
        }),
      );
    }
  }
  return new LoggerProvider({ resource, logRecordLimits: { ...logs.limits }, processors });
}
