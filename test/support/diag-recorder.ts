/**
 * The OpenTelemetry API's diagnostics, as the lines a test asserts on: `warn: export of …`. The
 * agent installs its stderr logger in the same place (src/agent/sdk/diagnostics.ts).
 */
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';

export interface DiagRecording {
  /** `<level>: <message>`, in order. */
  readonly lines: string[];
  /** Unregisters the logger. */
  stop(): void;
}

/** Records every diagnostic at `logLevel` or above until stop(). */
export function recordDiagnostics(logLevel: DiagLogLevel = DiagLogLevel.ALL): DiagRecording {
  const lines: string[] = [];
  const line =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      // The API's own notes on (un)registering this logger are not what a test asserts on.
      if (!message.startsWith('@opentelemetry/api: '))
        lines.push([`${level}: ${message}`, ...args.map(String)].join(' '));
    };
  const logger: DiagLogger = {
    error: line('error'),
    warn: line('warn'),
    info: line('info'),
    debug: line('debug'),
    verbose: line('verbose'),
  };
  diag.setLogger(logger, { logLevel, suppressOverrideMessage: true });
  return { lines, stop: () => diag.disable() };
}
