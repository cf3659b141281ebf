/** Small text formatting shared by the renderers: durations, sizes, attribute values, kinds. */
import type { AttributeValue, Span } from './otlp-types.ts';

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export function kindName(kind: number): string {
  return KINDS[kind] ?? `kind ${kind}`;
}

export const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `status ${code}`;
}

export function spanDurationNanos(span: Span): bigint {
  return span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n;
}

/** 840 ns, 12.3 µs, 4.56 ms, 1.23 s: three significant digits. */
export function formatDuration(nanos: bigint | number): string {
  const ns = Number(nanos);
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${significant(ns / 1e3)} µs`;
  if (ns < 1e9) return `${significant(ns / 1e6)} ms`;
  if (ns < 60e9) return `${significant(ns / 1e9)} s`;
  return `${Math.floor(ns / 60e9)} min ${Math.round((ns % 60e9) / 1e9)} s`;
}

export function formatMs(ms: number): string {
  return formatDuration(ms * 1e6);
}

function significant(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${significant(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${significant(bytes / 1024 ** 2)} MiB`;
  return `${significant(bytes / 1024 ** 3)} GiB`;
}

/** A value as a person reads it: strings bare, the rest as JSON (bigints as digits, bytes as hex). */
export function formatValue(value: AttributeValue): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_key, field: unknown) =>
    typeof field === 'bigint'
      ? Number(field)
      : field instanceof Uint8Array
        ? `0x${Buffer.from(field).toString('hex')}`
        : field,
  );
}

/**
 * The attributes worth a place on a span's line: the RPC outcome and the plugin's facts, not what
 * the name already says; status codes first, as the line may be cut.
 */
const SHOWN_PREFIXES = ['rpc.', 'rpcplugin.', 'error.'];
const NOT_SHOWN = new Set(['rpc.system', 'rpc.system.name', 'rpc.service', 'rpc.method', 'rpc.method_original']);
const FIRST = ['rpc.grpc.status_code', 'rpc.response.status_code', 'error.type'];
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
const rank = (key: string) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length);

export function notableAttributes(span: Span): string[] {
  const shown: string[] = [];
  if (span.status.code === 2 && span.status.message !== '') shown.push(span.status.message);
  else {
    const exception = span.events.find((event) => event.name === 'exception')?.attributes['exception.message'];
    if (exception !== undefined && exception !== null) shown.push(formatValue(exception));
  }
  const keys = Object.keys(span.attributes)
    .filter((key) => !NOT_SHOWN.has(key) && SHOWN_PREFIXES.some((prefix) => key.startsWith(prefix)))
    .sort((a, b) => rank(a) - rank(b));
  for (const key of keys) {
    const value = span.attributes[key] ?? null;
    const code = key === 'rpc.grpc.status_code' && typeof value === 'number' ? GRPC_CODES[value] : undefined;
    // `rpc.` is implied on a line about an RPC, and the columns are few.
    shown.push(`${key.replace(/^rpc\./, '')}=${formatValue(value)}${code === undefined ? '' : ` ${code}`}`);
  }
  return shown;
}
