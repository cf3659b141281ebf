import type { Resource } from '@opentelemetry/resources';
import {
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import type { Config } from '../../env/index.ts';
import { StderrLogExporter } from '../exporters/console.ts';
import {
  counted,
  createOtlpLogExporter,
  exitRequest,
  logSerializer,
  resolveOtlpTarget,
} from '../exporters/otlp-http.ts';
import type { ExitRequest } from '../lifecycle/exit-export.ts';
import { BatchQueue } from './batch-queue.ts';

export interface LogPipeline {
  readonly provider: LoggerProvider;
  /** Log records not yet delivered, as one OTLP request (for process.exit). */
  takePending(): ExitRequest | undefined;
}

export function createLogPipeline(config: Config, resource: Resource, finalFlush: AbortSignal): LogPipeline {
  const { logs } = config;
  const processors: LogRecordProcessor[] = [];
  let takePending: LogPipeline['takePending'] = () => undefined;
  for (const exporter of logs.exporters) {
    if (exporter === 'console') {
      processors.push(new SimpleLogRecordProcessor({ exporter: new StderrLogExporter() }));
    } else {
      const target = resolveOtlpTarget(logs.otlp, 'OTEL_EXPORTER_OTLP_LOGS_', finalFlush);
      const queue = new BatchQueue<ReadableLogRecord>(createOtlpLogExporter(target), logs.batch, 'log records');
      processors.push({
        onEmit: (record) => queue.add(record),
        forceFlush: () => queue.forceFlush(),
        shutdown: () => queue.shutdown(),
      });
      takePending = () => {
        const records = queue.takePending();
        if (records.length === 0) return undefined;
        const body = logSerializer(target).serializeRequest(records);
        return exitRequest(target, 'logs', body, counted(records.length, 'log record'));
      };
    }
  }
  const provider = new LoggerProvider({ resource, logRecordLimits: { ...logs.limits }, processors });
  return { provider, takePending };
}
