/**
 * Export of pino records through the logs pipeline. pino serializes each record in its `asJson`
 * method (serializers, formatters, redaction, the mixin's fields: all applied) and hands the line to
 * its destination; wrapping that method on the logger gives us the line the app writes, in the thread
 * and the context of the log call, whatever the destination (a file, stdout, a transport's worker).
 * Exporting the serialized line, not the objects passed in, keeps the app's redaction: a field the
 * app redacts is redacted in the export too.
 */
import type { Logger } from '@opentelemetry/api-logs';
import { warn } from '../sdk/diagnostics.ts';
import { activeCorrelation } from './correlation.ts';
import { toLogRecord } from './record.ts';

/** pino's asJson (pino 8 to 10): merge object, message, level number, the time fragment; returns the line. */
export type PinoAsJson = (this: unknown, obj: unknown, msg: unknown, num: number, time: string) => unknown;

/** The symbols under which a pino logger keeps what the export needs (`pino.symbols`). */
export interface ExportSymbols {
  readonly messageKeySym: symbol;
  readonly errorKeySym: symbol;
}

interface PinoLoggerFields {
  readonly levels?: { readonly labels?: Readonly<Record<number, string>> };
  readonly [key: symbol]: unknown;
}

let reported = false;

export function exportingAsJson(asJson: PinoAsJson, symbols: ExportSymbols, otelLogger: Logger): PinoAsJson {
  return function asJsonAndExport(obj, msg, num, time) {
    const line = asJson.call(this, obj, msg, num, time);
    try {
      exportLine(this as PinoLoggerFields, line, num, symbols, otelLogger);
    } catch (error) {
      // The app's record is written whatever happens here; a problem is said once.
      if (!reported) {
        reported = true;
        warn(`a pino record could not be exported (${(error as Error).message}); later ones are tried as usual.`);
      }
    }
    return line;
  };
}

function exportLine(
  logger: PinoLoggerFields,
  line: unknown,
  level: number,
  symbols: ExportSymbols,
  otelLogger: Logger,
): void {
  if (typeof line !== 'string') return;
  const record: unknown = JSON.parse(line);
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return;
  const messageKey = logger[symbols.messageKeySym];
  const errorKey = logger[symbols.errorKeySym];
  const shape = {
    messageKey: typeof messageKey === 'string' ? messageKey : 'msg',
    errorKey: typeof errorKey === 'string' ? errorKey : 'err',
    label: logger.levels?.labels?.[level],
  };
  // The SDK takes the trace context from the active context, as the correlation fields do.
  otelLogger.emit(toLogRecord(record as Record<string, unknown>, level, shape, activeCorrelation()));
}
