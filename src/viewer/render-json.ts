/**
 * `tail --json`: one JSON object per line for each span, log record and metric data point, for
 * scripts. Ids are hex, times are both ISO strings and decimal nanosecond strings (int64, as in
 * OTLP/JSON), 64-bit integers that do not fit a double are decimal strings, bytes are base64.
 */

import { kindName, spanDurationNanos, statusName } from './format.ts';
import { serviceOf } from './model.ts';
import type { LogRecord, Metric, Span } from './otlp-types.ts';

const TEMPORALITIES = ['unspecified', 'delta', 'cumulative'];

function iso(nanos: bigint): string {
  return nanos === 0n ? '' : new Date(Number(nanos / 1_000_000n)).toISOString();
}

function stringify(record: object): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'bigint'
      ? String(value)
      : value instanceof Uint8Array
        ? Buffer.from(value).toString('base64')
        : value,
  );
}

export function spanRecord(span: Span): string {
  return stringify({
    type: 'span',
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    service: serviceOf(span),
    name: span.name,
    kind: kindName(span.kind),
    startTime: iso(span.startTimeUnixNano),
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    durationMs: Number(spanDurationNanos(span)) / 1e6,
    status: { code: statusName(span.status.code), message: span.status.message },
    attributes: span.attributes,
    events: span.events.map((event) => ({
      name: event.name,
      timeUnixNano: event.timeUnixNano,
      attributes: event.attributes,
    })),
    links: span.links.map((link) => ({ traceId: link.traceId, spanId: link.spanId, attributes: link.attributes })),
    resource: span.resource,
    scope: { name: span.scope.name, version: span.scope.version },
  });
}

export function logRecord(record: LogRecord): string {
  const time = record.timeUnixNano === 0n ? record.observedTimeUnixNano : record.timeUnixNano;
  return stringify({
    type: 'log',
    traceId: record.traceId,
    spanId: record.spanId,
    service: serviceOf(record),
    time: iso(time),
    timeUnixNano: time,
    severityNumber: record.severityNumber,
    severityText: record.severityText,
    body: record.body,
    attributes: record.attributes,
    ...(record.eventName === '' ? {} : { eventName: record.eventName }),
    resource: record.resource,
    scope: { name: record.scope.name, version: record.scope.version },
  });
}

/** One line per data point of the metric. */
export function metricRecords(metric: Metric): string[] {
  return metric.dataPoints.map((point) => {
    const { attributes, startTimeUnixNano, timeUnixNano, flags: _flags, ...values } = point;
    return stringify({
      type: 'metric',
      service: serviceOf(metric),
      name: metric.name,
      unit: metric.unit,
      kind: metric.type,
      ...(metric.temporality === undefined
        ? {}
        : { temporality: TEMPORALITIES[metric.temporality] ?? metric.temporality }),
      ...(metric.isMonotonic === undefined ? {} : { isMonotonic: metric.isMonotonic }),
      time: iso(timeUnixNano),
      startTimeUnixNano,
      timeUnixNano,
      attributes,
      ...values,
      resource: metric.resource,
    });
  });
}
