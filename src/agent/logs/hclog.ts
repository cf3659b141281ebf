/**
 * pino records rewritten as hclog JSON lines (RPCPLUGIN_LOG_FORMAT=hclog), the form a go-plugin host
 * parses on its plugin's stderr (hashicorp/go-plugin client.go logStderr, log_entry.go parseJSON):
 *
 * - `@level` a string that hclog.LevelFromString knows (trace, debug, info, warn, error): any other
 *   value, or none, makes the host log the whole line verbatim at debug;
 * - `@message` a string (the host type-asserts it: anything else panics the host's log reader);
 * - `@timestamp` with exactly six fractional digits (`2006-01-02T15:04:05.000000Z07:00`): any other
 *   text makes the host log the whole line at debug;
 * - every other key becomes an hclog argument (`key=value`), among them `@module` (hclog's own JSON
 *   writes the logger's name there; pino's `name` goes there), `trace_id`, `span_id`, `trace_flags`.
 *
 * pino's `pid` and `hostname` are left out (the host names the plugin on every line already); the
 * error under pino's errorKey becomes hclog's `error` argument, its message (hclog writes err.Error()).
 */

import type { PinoAsJson } from './export.ts';

/** What a logger says about its records: pino's messageKey and errorKey. */
export interface HclogShape {
  readonly messageKey: string;
  readonly errorKey: string;
}

/** The symbols under which a pino logger keeps its messageKey and errorKey (`pino.symbols`). */
export interface HclogSymbols {
  readonly messageKeySym: symbol;
  readonly errorKeySym: symbol;
}

/**
 * The logger's asJson, its line rewritten as hclog JSON. Wraps the outermost asJson, so the export
 * (export.ts) still reads pino's own line. A line that cannot be rewritten is written as pino made it.
 */
export function hclogAsJson(asJson: PinoAsJson, symbols: HclogSymbols): PinoAsJson {
  return function asHclogJson(obj, msg, num, time) {
    const line = asJson.call(this, obj, msg, num, time);
    if (typeof line !== 'string') return line;
    const logger = this as Record<symbol, unknown>;
    const messageKey = logger[symbols.messageKeySym];
    const errorKey = logger[symbols.errorKeySym];
    const shape = {
      messageKey: typeof messageKey === 'string' ? messageKey : 'msg',
      errorKey: typeof errorKey === 'string' ? errorKey : 'err',
    };
    try {
      return toHclogLine(line, num, shape, Date.now());
    } catch {
      return line;
    }
  };
}

const PINO_BASE_KEYS = new Set(['level', 'time', 'pid', 'hostname']);

/**
 * hclog's level for a pino level number: pino's standard levels map by name (fatal, which hclog
 * lacks, to error); a custom level falls to the standard level at or below it.
 */
export function hclogLevel(level: number): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  if (level < 20) return 'trace';
  if (level < 30) return 'debug';
  if (level < 40) return 'info';
  if (level < 50) return 'warn';
  return 'error';
}

/** `2026-12-01T08:15:36.123000Z`: hclog's JSON time layout, six fractional digits, in UTC. */
export function hclogTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-12-01T08:15:36.123Z
  return `${iso.slice(0, -1)}000Z`;
}

/**
 * The hclog line for one pino line (`line` as pino's asJson made it, with its line end), or the
 * line unchanged when it is not a JSON object (an asJson replaced by the app).
 */
export function toHclogLine(line: string, level: number, shape: HclogShape, epochMs: number): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return line;
  const fields = record as Record<string, unknown>;
  const message = fields[shape.messageKey];
  const out: Record<string, unknown> = {
    '@level': hclogLevel(level),
    '@message': typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message),
    '@timestamp': hclogTimestamp(epochMs),
  };
  if (typeof fields.name === 'string') out['@module'] = fields.name;
  const error = fields[shape.errorKey];
  if (error !== undefined) out.error = errorText(error);
  for (const key of Object.keys(fields)) {
    if (key === shape.messageKey || key === shape.errorKey || PINO_BASE_KEYS.has(key)) continue;
    if (key === 'name' && out['@module'] === fields.name) continue;
    // A field of the app's named like ours (`error`, `@level`…) yields: the host reads ours.
    if (key in out) continue;
    out[key] = fields[key];
  }
  const end = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
  return JSON.stringify(out) + end;
}

/** What hclog writes for an error argument: its message (pino's err serializer keeps it under `message`). */
function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const { message } = error as { message?: unknown };
    if (typeof message === 'string') return message;
  }
  return JSON.stringify(error);
}
