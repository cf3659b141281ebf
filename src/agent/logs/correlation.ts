/**
 * Trace correlation for pino: a mixin that adds `trace_id`, `span_id` and `trace_flags` of the active
 * span to every record. pino calls a logger's mixin for every record it writes, child loggers
 * included, in the thread that logs, before the record is serialized: so the fields are there for
 * every destination, transports in worker threads too.
 */
import { context, isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import { CORRELATION_KEYS, type CorrelationFields } from './record.ts';

/** pino's mixin signature (pino 8 to 10): the record's merge object, its level, the logger writing it. */
export type PinoMixin = (mergeObject: object, level: number, logger: unknown) => unknown;

interface Remembered {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly fields: CorrelationFields | undefined;
}

/**
 * The fields of each span context seen, worked out once: a span hands out the same SpanContext
 * object for its whole life, and a busy span logs many records. Checked against the object's ids, in
 * case an app reuses one object for several contexts.
 */
const remembered = new WeakMap<SpanContext, Remembered>();

/** The fields of the active span, or undefined outside a valid one. Shared: copy before changing. */
export function activeCorrelation(): CorrelationFields | undefined {
  const spanContext = trace.getSpanContext(context.active());
  if (spanContext === undefined) return undefined;
  const { traceId, spanId, traceFlags } = spanContext;
  let known = remembered.get(spanContext);
  if (known === undefined || known.traceId !== traceId || known.spanId !== spanId || known.traceFlags !== traceFlags) {
    const fields = isSpanContextValid(spanContext)
      ? { trace_id: traceId, span_id: spanId, trace_flags: (traceFlags & 0xff).toString(16).padStart(2, '0') }
      : undefined;
    known = { traceId, spanId, traceFlags, fields };
    remembered.set(spanContext, known);
  }
  return known.fields;
}

/** How a key looks in pino's serialized child bindings (`,"key":value`). */
const BOUND_MARKERS = CORRELATION_KEYS.map((key) => `"${key}":`);

/**
 * The app's mixin (if any) followed by the correlation fields. Each field appears once per record:
 * one the app's mixin already returns keeps the app's value, one in a child logger's bindings is left
 * to the binding (pino writes bindings and fields side by side, so both would be in the JSON), and one
 * in the log call's own object wins over ours through pino's merge. The app's mixin result is copied,
 * not changed: a mixin may return the same object every time.
 */
export function correlatingMixin(appMixin: PinoMixin | undefined, chindingsSym: symbol): PinoMixin {
  return function correlate(mergeObject, level, logger) {
    const fromApp = appMixin === undefined ? undefined : appMixin(mergeObject, level, logger);
    const fields = activeCorrelation();
    if (appMixin !== undefined && (fields === undefined || typeof fromApp !== 'object' || fromApp === null)) {
      // Outside a span, or a mixin result pino will reject as it would without us.
      return fromApp;
    }
    const result: Record<string, unknown> = fromApp === undefined ? {} : { ...(fromApp as object) };
    if (fields === undefined) return result;
    const bindings = (logger as Record<symbol, unknown> | undefined)?.[chindingsSym];
    for (let i = 0; i < CORRELATION_KEYS.length; i++) {
      const key = CORRELATION_KEYS[i] as (typeof CORRELATION_KEYS)[number];
      if (key in result) continue;
      if (typeof bindings === 'string' && bindings.includes(BOUND_MARKERS[i] as string)) continue;
      result[key] = fields[key];
    }
    return result;
  };
}
