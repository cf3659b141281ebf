/**
 * `--filter service=…,name=…`: which spans, traces, log records and metric points are shown.
 * `service` matches the resource's service.name, `name` a span's name; `*` matches any run of
 * characters. `name` selects spans (and the traces holding one); log records and metric points
 * are selected by `service` only.
 */
import { type AssembledTrace, serviceOf, walk } from './model.ts';
import type { LogRecord, Metric, Span } from './otlp-types.ts';

export const FILTER_KEYS = ['service', 'name'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

export type Filter = Partial<Record<FilterKey, RegExp>>;

function pattern(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/** Parses `key=value[,key=value…]` into `into`; returns an error message, or undefined. */
export function parseFilter(text: string, into: Filter): string | undefined {
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (at < 0 || value === '')
      return `--filter takes key=value pairs separated by commas, not ${JSON.stringify(part)}`;
    if (!(FILTER_KEYS as readonly string[]).includes(key)) {
      return `--filter key ${JSON.stringify(key)} is not one of ${FILTER_KEYS.join(', ')}`;
    }
    into[key as FilterKey] = pattern(value);
  }
  return undefined;
}

export function spanMatches(filter: Filter, span: Span): boolean {
  return (filter.service?.test(serviceOf(span)) ?? true) && (filter.name?.test(span.name) ?? true);
}

/** A trace is shown whole when one of its spans matches (or, with no name filter, one of its records). */
export function traceMatches(filter: Filter, trace: AssembledTrace): boolean {
  if (filter.service === undefined && filter.name === undefined) return true;
  for (const { node } of walk(trace.roots)) if (spanMatches(filter, node.span)) return true;
  return filter.name === undefined && trace.logs.some((record) => logMatches(filter, record));
}

export function logMatches(filter: Filter, record: LogRecord): boolean {
  return filter.service?.test(serviceOf(record)) ?? true;
}

export function metricMatches(filter: Filter, metric: Metric): boolean {
  return filter.service?.test(serviceOf(metric)) ?? true;
}
