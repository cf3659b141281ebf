import type { Resource } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import type { Config } from '../env/index.ts';
import { StderrLogExporter } from './console-exporters.ts';
import type { ExitRequest } from './exit-export.ts';
import { createOtlpLogExporter, exitRequest, logSerializer, resolveOtlpTarget } from './otlp-http.ts';
import { PendingRecords, settlingExporter } from './pending.ts';

export interface LogPipeline {
  readonly provider: LoggerProvider;
  /** Log records the batch processor still holds, as one OTLP request (for process.exit). */
  takePending(): ExitRequest | undefined;
}

export function createLogPipeline(config: Config, resource: Resource): LogPipeline {
  const { logs } = config;
  const processors: LogRecordProcessor[] = [];
  let takePending: LogPipeline['takePending'] = () => undefined;
  for (const exporter of logs.exporters) {
    if (exporter === 'console') {
      processors.push(new SimpleLogRecordProcessor({ exporter: new StderrLogExporter() }));
    } else {
      const target = resolveOtlpTarget(logs.otlp, 'OTEL_EXPORTER_OTLP_LOGS_');
      const pending = new PendingRecords<ReadableLogRecord>(logs.batch.maxQueueSize);
      processors.push(
        {
          onEmit: (record) => pending.add(record),
          forceFlush: async () => {},
          shutdown: async () => {},
        },
        new BatchLogRecordProcessor({
          exporter: settlingExporter(createOtlpLogExporter(target), pending),
          maxQueueSize: logs.batch.maxQueueSize,
          maxExportBatchSize: logs.batch.maxExportBatchSize,
          scheduledDelayMillis: logs.batch.scheduleDelayMs,
          exportTimeoutMillis: logs.batch.exportTimeoutMs,
        }),
      );
      takePending = () => exitRequest(target, pending.take(), (logs) => logSerializer(target).serializeRequest(logs));
    }
  }
  const provider = new LoggerProvider({ resource, logRecordLimits: { ...logs.limits }, processors });
  return { provider, takePending };
}
