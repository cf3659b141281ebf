/**
 * What the viewer decodes OTLP export requests into: plain objects with lowercase hex ids, unwrapped
 * attribute values and bigint nanosecond timestamps. The shape is the one test/support/otlp-receiver.ts
 * normalises the official protobufjs decoding to, so the two decoders can be compared value for value.
 */

/** An unwrapped OTLP AnyValue; int64 values are numbers when safe, bigints otherwise; an empty AnyValue is null. */
export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | null
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

export interface Scope {
  name: string;
  version: string;
  attributes: Attributes;
}

export interface SpanEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface Span {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  flags: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  /** code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Attributes;
  scope: Scope;
}

export type MetricType = 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';

export interface ExponentialBuckets {
  offset: number;
  bucketCounts: number[];
}

/** One data point; which of the optional fields are present depends on the metric's type. */
export interface DataPoint {
  attributes: Attributes;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  flags: number;
  value?: number | bigint;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  scale?: number;
  zeroCount?: number;
  zeroThreshold?: number;
  positive?: ExponentialBuckets;
  negative?: ExponentialBuckets;
  quantileValues?: { quantile: number; value: number }[];
}

export interface Metric {
  name: string;
  description: string;
  unit: string;
  type: MetricType;
  /** 1 delta, 2 cumulative. */
  temporality?: number;
  isMonotonic?: boolean;
  dataPoints: DataPoint[];
  resource: Attributes;
  scope: Scope;
}

export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AttributeValue;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
  /** '' when the record was made outside a span. */
  traceId: string;
  spanId: string;
  eventName: string;
  resource: Attributes;
  scope: Scope;
}

export type Signal = 'traces' | 'metrics' | 'logs';
export type Encoding = 'protobuf' | 'json';

export interface DecodedRequest {
  spans: Span[];
  metrics: Metric[];
  logs: LogRecord[];
}

/** A body that cannot be decoded as the export request it claims to be: answered with 400. */
export class MalformedRequest extends Error {}

/** A 64-bit integer as a number when that is exact, else as a bigint. */
export function exactInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
