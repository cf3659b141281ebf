/**
 * The SDK's own diagnostics (OTEL_LOG_LEVEL), prefixed and written to stderr. The API's
 * DiagConsoleLogger would send info and debug to console.info/console.debug, which is stdout.
 */
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { LogLevel } from '../../env/index.ts';
import { MESSAGE_PREFIX, printable } from '../../env/index.ts';
import { writeStderr } from '../runtime/stderr.ts';

const LEVELS: Record<LogLevel, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

function line(level: string) {
  return (message: string, ...args: unknown[]) => {
    const details = args.map((arg) =>
      arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : safeJson(arg),
    );
    writeStderr(`${MESSAGE_PREFIX} [otel ${level}] ${printable([message, ...details].join(' '))}\n`);
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const stderrLogger: DiagLogger = {
  error: line('error'),
  warn: line('warn'),
  info: line('info'),
  debug: line('debug'),
  verbose: line('verbose'),
};

export function installDiagnostics(level: LogLevel): void {
  diag.setLogger(stderrLogger, { logLevel: LEVELS[level], suppressOverrideMessage: true });
}

/**
 * A warning of the agent's own, in the same voice as the configuration report. Escaped like every
 * message of ours: it may quote a value or an error that came from the environment, and a terminal
 * must never receive an escape sequence or a line break from there.
 */
export function warn(message: string): void {
  writeStderr(`${MESSAGE_PREFIX} ${printable(message)}\n`);
}
