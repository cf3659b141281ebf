/**
 * One pino record, as pino serialized it (after the app's serializers, formatters and redaction),
 * turned into one OpenTelemetry log record. Pure: no SDK, no pino, no clock.
 */
import type { AnyValue, AnyValueMap, LogRecord } from '@opentelemetry/api-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';

/** What the record's logger says about how it writes records. */
export interface PinoRecordShape {
  /** pino's `messageKey` option ('msg' by default). */
  readonly messageKey: string;
  /** pino's `errorKey` option ('err' by default). */
  readonly errorKey: string;
  /** The level's name in the logger's levels (custom levels included), e.g. 'info'. */
  readonly label: string | undefined;
}

/** The correlation fields that pino records carry; the exported record has them as its trace context. */
export const CORRELATION_KEYS = ['trace_id', 'span_id', 'trace_flags'] as const;

export type CorrelationFields = { readonly [key in (typeof CORRELATION_KEYS)[number]]: string };

/**
 * How much of one record becomes attributes: records can hold whole requests, and the log queue
 * holds up to OTEL_BLRP_MAX_QUEUE_SIZE of them. Beyond these, values are cut (strings), summarised
 * ('[Object]', '[Array]' past the depth) or left out (entries past the budget).
 */
export const RECORD_BOUNDS = {
  /** Levels of objects and arrays kept, a field's own value being the first. */
  depth: 4,
  /** Values of any kind in one record's attributes, nested ones included. */
  values: 256,
  /** Characters of string values in one record's attributes, and in its body. */
  characters: 32 * 1024,
} as const;

const PINO_BASE_KEYS = new Set(['level', 'pid', 'hostname']);

/**
 * pino levels to severity numbers: the six standard levels map to TRACE, DEBUG, INFO, WARN, ERROR
 * and FATAL; a custom level falls in the band of the standard level below it, placed within the band
 * in proportion (35, between info and warn, is INFO3). Below trace is TRACE, above fatal up to FATAL4.
 */
export function severityFromPinoLevel(level: number): SeverityNumber {
  if (!Number.isFinite(level)) return SeverityNumber.UNSPECIFIED;
  if (level < 10) return SeverityNumber.TRACE;
  const band = Math.min(Math.floor(level / 10), 6);
  const within = Math.min(Math.floor(((level - band * 10) * 4) / 10), 3);
  return (SeverityNumber.TRACE + (band - 1) * 4 + within) as SeverityNumber;
}

/**
 * The log record for one parsed pino record. `correlation` is what the active span puts on records;
 * fields equal to it are carried by the record's trace context instead of as attributes.
 */
export function toLogRecord(
  record: Readonly<Record<string, unknown>>,
  level: number,
  shape: PinoRecordShape,
  correlation: CorrelationFields | undefined,
): LogRecord {
  const budget = { values: RECORD_BOUNDS.values, characters: RECORD_BOUNDS.characters };
  const attributes: AnyValueMap = {};
  const timestamp = timestampOf(record.time);
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (key === shape.messageKey || PINO_BASE_KEYS.has(key)) continue;
    if (key === 'time' && timestamp !== undefined) continue;
    if (correlation !== undefined && isCorrelationKey(key) && value === correlation[key]) continue;
    if (key === shape.errorKey && addException(attributes, value, budget)) continue;
    if (budget.values <= 0) break;
    attributes[key] = bounded(value, 1, budget);
  }
  const message = record[shape.messageKey];
  const result: LogRecord = {
    severityNumber: severityFromPinoLevel(level),
    attributes,
  };
  if (shape.label !== undefined) result.severityText = shape.label;
  if (message !== undefined) {
    result.body = bounded(message, 1, { values: RECORD_BOUNDS.values, characters: RECORD_BOUNDS.characters });
  }
  if (timestamp !== undefined) result.timestamp = timestamp;
  return result;
}

function isCorrelationKey(key: string): key is (typeof CORRELATION_KEYS)[number] {
  return key === 'trace_id' || key === 'span_id' || key === 'trace_flags';
}

/**
 * pino's `time` field as milliseconds since the epoch: epochTime (ms) and unixTime (s) are numbers,
 * isoTime and isoTimeNano strings. undefined for anything else (`timestamp: false`, a custom time
 * function): the SDK then stamps the record itself, and the field stays an attribute.
 */
function timestampOf(time: unknown): number | undefined {
  if (typeof time === 'number' && Number.isFinite(time) && time > 0) {
    // Seconds until the year 5138; milliseconds from 1973 on.
    return time < 1e11 ? time * 1000 : time;
  }
  if (typeof time === 'string') {
    const parsed = Date.parse(time);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/**
 * pino's error serializer writes `{ type, message, stack, ...own fields }`; the semantic conventions
 * want exception.type, exception.message and exception.stacktrace. Other fields of the error stay
 * under the error key. false when the value is not a serialized error.
 */
function addException(attributes: AnyValueMap, value: unknown, budget: Budget): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { type, message, stack, ...rest } = value as Record<string, unknown>;
  if (typeof message !== 'string' && typeof stack !== 'string') return false;
  if (typeof type === 'string') attributes['exception.type'] = bounded(type, 1, budget);
  if (typeof message === 'string') attributes['exception.message'] = bounded(message, 1, budget);
  if (typeof stack === 'string') attributes['exception.stacktrace'] = bounded(stack, 1, budget);
  if (Object.keys(rest).length > 0 && budget.values > 0) attributes.err = bounded(rest, 1, budget);
  return true;
}

interface Budget {
  values: number;
  characters: number;
}

/** A JSON value within the record's budget (see RECORD_BOUNDS). */
function bounded(value: unknown, depth: number, budget: Budget): AnyValue {
  budget.values -= 1;
  if (typeof value === 'string') {
    const kept = value.length <= budget.characters ? value : value.slice(0, budget.characters);
    budget.characters -= kept.length;
    return kept;
  }
  if (typeof value !== 'object' || value === null) return value as AnyValue;
  if (Array.isArray(value)) {
    if (depth > RECORD_BOUNDS.depth) return '[Array]';
    const items: AnyValue[] = [];
    for (const item of value) {
      if (budget.values <= 0) break;
      items.push(bounded(item, depth + 1, budget));
    }
    return items;
  }
  if (depth > RECORD_BOUNDS.depth) return '[Object]';
  const map: AnyValueMap = {};
  for (const [key, item] of Object.entries(value)) {
    if (budget.values <= 0) break;
    map[key] = bounded(item, depth + 1, budget);
  }
  return map;
}
