/**
 * A real OTLP/HTTP receiver for the tests: what a collector would see of the agent's telemetry.
 *
 * Requests are decoded with the official opentelemetry-proto definitions (the protobufjs static code
 * that `@opentelemetry/otlp-transformer@0.52.1`, installed as `otlp-proto-definitions`, generated
 * from them), not with the serializers the agent itself uses, so a bug in the agent's encoder cannot
 * hide behind the same bug in the decoder. OTLP/protobuf and OTLP/JSON are both accepted and
 * normalised to one plain shape (lowercase hex ids, unwrapped attribute values, bigint timestamps),
 * so a test asserts the same way whatever protocol the agent was configured with.
 *
 * Fault modes for "collector down" tests: answer with an error status, accept and never answer
 * (`hang`), or nothing listening at all (`closedPort()`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from './runtimes.ts';

// ---------------------------------------------------------------------------------------------
// The normalised shape tests assert on
// ---------------------------------------------------------------------------------------------

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

/** Proto enum values, as they appear in the normalised shape (numbers, as on the wire). */
export const SpanKind = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export const AggregationTemporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;
/** Span.flags bits (proto v1.4+): the low byte is the W3C trace flags. */
export const SpanFlags = { SAMPLED: 0x01, CONTEXT_HAS_IS_REMOTE: 0x100, CONTEXT_IS_REMOTE: 0x200 } as const;

export interface ReceivedSpanEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface ReceivedSpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface ReceivedSpan {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** As in the proto: 1 internal, 2 server, 3 client, 4 producer, 5 consumer (see `SpanKind`). */
  kind: number;
  /** Trace flags in the low byte, plus the is-remote-parent bits (see `SpanFlags`); 0 when not sent. */
  flags: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: ReceivedSpanEvent[];
  droppedEventsCount: number;
  links: ReceivedSpanLink[];
  droppedLinksCount: number;
  /** code: 0 unset, 1 ok, 2 error (see `StatusCode`). */
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
export interface ReceivedDataPoint {
  attributes: Attributes;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  flags: number;
  /** sum, gauge: asDouble, or asInt (a number when safe, else a bigint). */
  value?: number | bigint;
  /** histogram, exponentialHistogram, summary. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** histogram: bucketCounts has explicitBounds.length + 1 entries. */
  bucketCounts?: number[];
  explicitBounds?: number[];
  /** exponentialHistogram. */
  scale?: number;
  zeroCount?: number;
  zeroThreshold?: number;
  positive?: ExponentialBuckets;
  negative?: ExponentialBuckets;
  /** summary. */
  quantileValues?: { quantile: number; value: number }[];
}

export interface ReceivedMetric {
  name: string;
  description: string;
  unit: string;
  type: MetricType;
  /** sum, histogram, exponentialHistogram: 1 delta, 2 cumulative (see `AggregationTemporality`). */
  temporality?: number;
  /** sum only. */
  isMonotonic?: boolean;
  dataPoints: ReceivedDataPoint[];
  resource: Attributes;
  scope: Scope;
}

export interface ReceivedLogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  /** The unwrapped body; null when the record has none. */
  body: AttributeValue;
  attributes: Attributes;
  droppedAttributesCount: number;
  /** W3C trace flags of the record's span context; 0 when not sent. */
  flags: number;
  /** '' when the record was made outside a span. */
  traceId: string;
  spanId: string;
  /** proto v1.5+ field; '' when not sent. */
  eventName: string;
  resource: Attributes;
  scope: Scope;
}

export type Signal = 'traces' | 'metrics' | 'logs';
export type Encoding = 'protobuf' | 'json';

/** One HTTP request as received, with what was decoded from it. */
export interface ReceivedRequest {
  method: string;
  /** The URL path, without the query string. */
  path: string;
  /** Lowercase names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The Content-Type header as sent ('' if none). */
  contentType: string;
  /** The Content-Encoding header as sent ('' if none). */
  contentEncoding: string;
  /** Which signal the path is routed to, if any. */
  signal?: Signal;
  /** How the body was decoded, if its content type is an OTLP one. */
  encoding?: Encoding;
  /** Size of the body after decompression. */
  bodyBytes: number;
  /** The status the receiver answered with; null if it never answered (hang mode). */
  status: number | null;
  /** Why the request was rejected (wrong path, method, media type, undecodable body). */
  error?: string;
  spans: ReceivedSpan[];
  metrics: ReceivedMetric[];
  logs: ReceivedLogRecord[];
}

// ---------------------------------------------------------------------------------------------
// The official proto definitions, with the small typed surface this file uses
// ---------------------------------------------------------------------------------------------

/** What protobufjs's generated `toObject` returns with CONVERSION below: 64-bit integers as decimal strings, bytes as Uint8Array. */
interface RawAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: RawAnyValue[] };
  kvlistValue?: { values: RawKeyValue[] };
  bytesValue?: Uint8Array;
}
interface RawKeyValue {
  key?: string;
  value?: RawAnyValue;
}
interface RawResource {
  attributes: RawKeyValue[];
}
interface RawScope {
  name?: string;
  version?: string;
  attributes: RawKeyValue[];
}
interface RawEvent {
  timeUnixNano?: string;
  name?: string;
  attributes: RawKeyValue[];
  droppedAttributesCount?: number;
}
interface RawLink {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  attributes: RawKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
}
interface RawSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes: RawKeyValue[];
  droppedAttributesCount?: number;
  events: RawEvent[];
  droppedEventsCount?: number;
  links: RawLink[];
  droppedLinksCount?: number;
  status?: { message?: string; code?: number };
  flags?: number;
}
interface RawTraceRequest {
  resourceSpans: { resource?: RawResource; scopeSpans: { scope?: RawScope; spans: RawSpan[] }[] }[];
}
interface RawNumberDataPoint {
  attributes: RawKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
  flags?: number;
}
interface RawHistogramDataPoint {
  attributes: RawKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  bucketCounts: string[];
  explicitBounds: number[];
  flags?: number;
  min?: number;
  max?: number;
}
interface RawBuckets {
  offset?: number;
  bucketCounts: string[];
}
interface RawExponentialHistogramDataPoint {
  attributes: RawKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  scale?: number;
  zeroCount?: string;
  positive?: RawBuckets;
  negative?: RawBuckets;
  flags?: number;
  min?: number;
  max?: number;
  zeroThreshold?: number;
}
interface RawSummaryDataPoint {
  attributes: RawKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  count?: string;
  sum?: number;
  quantileValues: { quantile?: number; value?: number }[];
  flags?: number;
}
interface RawMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: RawNumberDataPoint[] };
  sum?: { dataPoints: RawNumberDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints: RawHistogramDataPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints: RawExponentialHistogramDataPoint[]; aggregationTemporality?: number };
  summary?: { dataPoints: RawSummaryDataPoint[] };
}
interface RawMetricsRequest {
  resourceMetrics: { resource?: RawResource; scopeMetrics: { scope?: RawScope; metrics: RawMetric[] }[] }[];
}
interface RawLogRecord {
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  body?: RawAnyValue;
  attributes: RawKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  eventName?: string;
}
interface RawLogsRequest {
  resourceLogs: { resource?: RawResource; scopeLogs: { scope?: RawScope; logRecords: RawLogRecord[] }[] }[];
}

/** A generated message class: decode from the wire, build from a JSON-like object, convert to a plain object. */
interface MessageType<Raw> {
  decode(bytes: Uint8Array): object;
  fromObject(object: object): object;
  toObject(message: object, options: object): Raw;
  encode(message: object): { finish(): Uint8Array };
}

interface OtlpProtoRoot {
  opentelemetry: {
    proto: {
      collector: {
        trace: { v1: { ExportTraceServiceRequest: MessageType<RawTraceRequest> } };
        metrics: { v1: { ExportMetricsServiceRequest: MessageType<RawMetricsRequest> } };
        logs: { v1: { ExportLogsServiceRequest: MessageType<RawLogsRequest> } };
      };
    };
  };
}

/** The part of protobufjs's Reader used to read fields the v1.3 definitions predate. */
interface WireReader {
  pos: number;
  len: number;
  uint32(): number;
  fixed32(): number;
  string(): string;
  bytes(): Uint8Array;
  skipType(wireType: number): unknown;
}

// The package has no exports map: its generated code is reachable by path, resolved from the repo
// root so that the bundles in build/test resolve it the same way as the sources in test/.
const requireFromRoot = createRequire(join(REPO_ROOT, 'package.json'));
const ROOT_JS = requireFromRoot.resolve('otlp-proto-definitions/build/src/generated/root.js');
const proto = (requireFromRoot(ROOT_JS) as OtlpProtoRoot).opentelemetry.proto;
// The very protobufjs instance the generated code runs on.
const { Reader } = createRequire(ROOT_JS)('protobufjs/minimal') as {
  Reader: { create(bytes: Uint8Array): WireReader };
};

/** The generated request types, exported so tests can hand-craft payloads in either encoding. */
export const ExportTraceServiceRequest: MessageType<RawTraceRequest> =
  proto.collector.trace.v1.ExportTraceServiceRequest;
export const ExportMetricsServiceRequest: MessageType<RawMetricsRequest> =
  proto.collector.metrics.v1.ExportMetricsServiceRequest;
export const ExportLogsServiceRequest: MessageType<RawLogsRequest> = proto.collector.logs.v1.ExportLogsServiceRequest;

/** Lossless: 64-bit integers as decimal strings (whether or not protobufjs found `long`), enums as numbers, bytes as-is. */
const CONVERSION = { longs: String, enums: Number, arrays: true, defaults: false };

// ---------------------------------------------------------------------------------------------
// Decoding: wire or JSON → raw plain objects → normalised shape
// ---------------------------------------------------------------------------------------------

class BadRequest extends Error {}

function decodeProtobuf<Raw>(type: MessageType<Raw>, body: Uint8Array): Raw {
  try {
    return type.toObject(type.decode(body), CONVERSION);
  } catch (error) {
    throw new BadRequest(`undecodable protobuf: ${(error as Error).message}`);
  }
}

/**
 * OTLP/JSON differs from the proto3 JSON mapping in one place: trace and span ids are hex, not
 * base64. Converting them to bytes first lets the generated `fromObject` do the rest (int64 as
 * strings or numbers, enums as numbers or names, base64 bytes) exactly as the definitions say.
 */
function decodeJson<Raw>(type: MessageType<Raw>, body: Uint8Array): { raw: Raw; json: unknown } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (error) {
    throw new BadRequest(`invalid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadRequest('the JSON body is not an object');
  }
  try {
    return { raw: type.toObject(type.fromObject(hexIdsToBytes(json) as object), CONVERSION), json };
  } catch (error) {
    if (error instanceof BadRequest) throw error;
    throw new BadRequest(`JSON does not match the OTLP definitions: ${(error as Error).message}`);
  }
}

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

function hexIdsToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIdsToBytes);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (ID_FIELDS.has(key) && typeof field === 'string') {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(field)) throw new BadRequest(`${key} ${JSON.stringify(field)} is not hex`);
      out[key] = Buffer.from(field, 'hex');
    } else {
      out[key] = hexIdsToBytes(field);
    }
  }
  return out;
}

// The v1.3 definitions predate Span.flags / Link.flags (v1.4) and LogRecord.event_name (v1.5),
// which current SDKs send; protobufjs skips unknown fields, so they are read here by field number.

/** Every value of one field of a protobuf message, in wire order. */
function wireValues<T>(message: Uint8Array, field: number, read: (reader: WireReader) => T): T[] {
  const reader = Reader.create(message);
  const values: T[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field) values.push(read(reader));
    else reader.skipType(tag & 7);
  }
  return values;
}

const subMessages = (message: Uint8Array, field: number) => wireValues(message, field, (r) => r.bytes());

/** A field's value if the message has it (the last one wins, as in protobuf). */
function lastValue<T>(message: Uint8Array, field: number, read: (reader: WireReader) => T): T | undefined {
  return wireValues(message, field, read).at(-1);
}

/** The newer fields, arranged like the JSON encoding so that both encodings are patched by the same code. */
interface NewerTraceFields {
  resourceSpans?: { scopeSpans?: { spans?: { flags?: unknown; links?: { flags?: unknown }[] }[] }[] }[];
}
interface NewerLogFields {
  resourceLogs?: { scopeLogs?: { logRecords?: { eventName?: unknown }[] }[] }[];
}

function newerTraceFieldsFromWire(body: Uint8Array): NewerTraceFields {
  // ExportTraceServiceRequest.resource_spans = 1, ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2,
  // Span.links = 13, Span.flags = 16, Link.flags = 6.
  return {
    resourceSpans: subMessages(body, 1).map((resourceSpans) => ({
      scopeSpans: subMessages(resourceSpans, 2).map((scopeSpans) => ({
        spans: subMessages(scopeSpans, 2).map((span) => ({
          flags: lastValue(span, 16, (r) => r.fixed32()),
          links: subMessages(span, 13).map((link) => ({ flags: lastValue(link, 6, (r) => r.fixed32()) })),
        })),
      })),
    })),
  };
}

function newerLogFieldsFromWire(body: Uint8Array): NewerLogFields {
  // ExportLogsServiceRequest.resource_logs = 1, ResourceLogs.scope_logs = 2, ScopeLogs.log_records = 2,
  // LogRecord.event_name = 12.
  return {
    resourceLogs: subMessages(body, 1).map((resourceLogs) => ({
      scopeLogs: subMessages(resourceLogs, 2).map((scopeLogs) => ({
        logRecords: subMessages(scopeLogs, 2).map((record) => ({
          eventName: lastValue(record, 12, (r) => r.string()),
        })),
      })),
    })),
  };
}

function copyNewerTraceFields(raw: RawTraceRequest, newer: NewerTraceFields): void {
  raw.resourceSpans.forEach((resourceSpans, i) => {
    resourceSpans.scopeSpans.forEach((scopeSpans, j) => {
      scopeSpans.spans.forEach((span, k) => {
        const source = newer.resourceSpans?.[i]?.scopeSpans?.[j]?.spans?.[k];
        if (typeof source?.flags === 'number') span.flags = source.flags;
        span.links.forEach((link, l) => {
          const flags = source?.links?.[l]?.flags;
          if (typeof flags === 'number') link.flags = flags;
        });
      });
    });
  });
}

function copyNewerLogFields(raw: RawLogsRequest, newer: NewerLogFields): void {
  raw.resourceLogs.forEach((resourceLogs, i) => {
    resourceLogs.scopeLogs.forEach((scopeLogs, j) => {
      scopeLogs.logRecords.forEach((record, k) => {
        const eventName = newer.resourceLogs?.[i]?.scopeLogs?.[j]?.logRecords?.[k]?.eventName;
        if (typeof eventName === 'string') record.eventName = eventName;
      });
    });
  });
}

function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '' : Buffer.from(bytes).toString('hex');
}

/** A 64-bit integer as a number when that is exact, else as a bigint. */
function integer(decimal: string | undefined): number | bigint {
  const value = BigInt(decimal ?? '0');
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

const nanos = (decimal: string | undefined): bigint => BigInt(decimal ?? '0');
const counts = (decimals: readonly string[]): number[] => decimals.map(Number);

function unwrapAnyValue(value: RawAnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return integer(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return value.arrayValue.values.map(unwrapAnyValue);
  if (value.kvlistValue !== undefined) return attributes(value.kvlistValue.values);
  if (value.bytesValue !== undefined) return new Uint8Array(value.bytesValue);
  return null;
}

function attributes(list: readonly RawKeyValue[]): Attributes {
  const out: Attributes = {};
  for (const { key = '', value } of list) out[key] = unwrapAnyValue(value);
  return out;
}

function scope(raw: RawScope | undefined): Scope {
  return { name: raw?.name ?? '', version: raw?.version ?? '', attributes: attributes(raw?.attributes ?? []) };
}

function normaliseSpans(raw: RawTraceRequest): ReceivedSpan[] {
  return raw.resourceSpans.flatMap(({ resource, scopeSpans }) =>
    scopeSpans.flatMap((group) =>
      group.spans.map((span) => ({
        traceId: hex(span.traceId),
        spanId: hex(span.spanId),
        parentSpanId: hex(span.parentSpanId),
        traceState: span.traceState ?? '',
        name: span.name ?? '',
        kind: span.kind ?? 0,
        flags: span.flags ?? 0,
        startTimeUnixNano: nanos(span.startTimeUnixNano),
        endTimeUnixNano: nanos(span.endTimeUnixNano),
        attributes: attributes(span.attributes),
        droppedAttributesCount: span.droppedAttributesCount ?? 0,
        events: span.events.map((event) => ({
          name: event.name ?? '',
          timeUnixNano: nanos(event.timeUnixNano),
          attributes: attributes(event.attributes),
          droppedAttributesCount: event.droppedAttributesCount ?? 0,
        })),
        droppedEventsCount: span.droppedEventsCount ?? 0,
        links: span.links.map((link) => ({
          traceId: hex(link.traceId),
          spanId: hex(link.spanId),
          traceState: link.traceState ?? '',
          attributes: attributes(link.attributes),
          droppedAttributesCount: link.droppedAttributesCount ?? 0,
          flags: link.flags ?? 0,
        })),
        droppedLinksCount: span.droppedLinksCount ?? 0,
        status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        resource: attributes(resource?.attributes ?? []),
        scope: scope(group.scope),
      })),
    ),
  );
}

type RawPointCommon = Pick<RawNumberDataPoint, 'attributes' | 'startTimeUnixNano' | 'timeUnixNano' | 'flags'>;

function pointCommon(point: RawPointCommon): ReceivedDataPoint {
  return {
    attributes: attributes(point.attributes),
    startTimeUnixNano: nanos(point.startTimeUnixNano),
    timeUnixNano: nanos(point.timeUnixNano),
    flags: point.flags ?? 0,
  };
}

/** The proto3 `optional` fields (sum, min, max) are only copied when they were sent. */
function optionalDoubles(point: { sum?: number; min?: number; max?: number }): Partial<ReceivedDataPoint> {
  const out: Partial<ReceivedDataPoint> = {};
  if (point.sum !== undefined) out.sum = point.sum;
  if (point.min !== undefined) out.min = point.min;
  if (point.max !== undefined) out.max = point.max;
  return out;
}

function numberPoint(point: RawNumberDataPoint): ReceivedDataPoint {
  const out = pointCommon(point);
  if (point.asDouble !== undefined) out.value = point.asDouble;
  else if (point.asInt !== undefined) out.value = integer(point.asInt);
  return out;
}

function histogramPoint(point: RawHistogramDataPoint): ReceivedDataPoint {
  return {
    ...pointCommon(point),
    count: Number(point.count ?? 0),
    ...optionalDoubles(point),
    bucketCounts: counts(point.bucketCounts),
    explicitBounds: point.explicitBounds,
  };
}

function exponentialBuckets(buckets: RawBuckets | undefined): ExponentialBuckets {
  return { offset: buckets?.offset ?? 0, bucketCounts: counts(buckets?.bucketCounts ?? []) };
}

function exponentialHistogramPoint(point: RawExponentialHistogramDataPoint): ReceivedDataPoint {
  return {
    ...pointCommon(point),
    count: Number(point.count ?? 0),
    ...optionalDoubles(point),
    scale: point.scale ?? 0,
    zeroCount: Number(point.zeroCount ?? 0),
    zeroThreshold: point.zeroThreshold ?? 0,
    positive: exponentialBuckets(point.positive),
    negative: exponentialBuckets(point.negative),
  };
}

function summaryPoint(point: RawSummaryDataPoint): ReceivedDataPoint {
  return {
    ...pointCommon(point),
    count: Number(point.count ?? 0),
    sum: point.sum ?? 0,
    quantileValues: point.quantileValues.map(({ quantile = 0, value = 0 }) => ({ quantile, value })),
  };
}

type MetricData = Pick<ReceivedMetric, 'type' | 'temporality' | 'isMonotonic' | 'dataPoints'>;

function metricData(metric: RawMetric): MetricData {
  if (metric.sum !== undefined) {
    const { aggregationTemporality = 0, isMonotonic = false, dataPoints } = metric.sum;
    return { type: 'sum', temporality: aggregationTemporality, isMonotonic, dataPoints: dataPoints.map(numberPoint) };
  }
  if (metric.gauge !== undefined) return { type: 'gauge', dataPoints: metric.gauge.dataPoints.map(numberPoint) };
  if (metric.histogram !== undefined) {
    const { aggregationTemporality = 0, dataPoints } = metric.histogram;
    return { type: 'histogram', temporality: aggregationTemporality, dataPoints: dataPoints.map(histogramPoint) };
  }
  if (metric.exponentialHistogram !== undefined) {
    const { aggregationTemporality = 0, dataPoints } = metric.exponentialHistogram;
    return {
      type: 'exponentialHistogram',
      temporality: aggregationTemporality,
      dataPoints: dataPoints.map(exponentialHistogramPoint),
    };
  }
  if (metric.summary !== undefined) return { type: 'summary', dataPoints: metric.summary.dataPoints.map(summaryPoint) };
  throw new BadRequest(`metric ${JSON.stringify(metric.name ?? '')} has no data (no gauge, sum, histogram…)`);
}

function normaliseMetrics(raw: RawMetricsRequest): ReceivedMetric[] {
  return raw.resourceMetrics.flatMap(({ resource, scopeMetrics }) =>
    scopeMetrics.flatMap((group) =>
      group.metrics.map((metric) => ({
        name: metric.name ?? '',
        description: metric.description ?? '',
        unit: metric.unit ?? '',
        ...metricData(metric),
        resource: attributes(resource?.attributes ?? []),
        scope: scope(group.scope),
      })),
    ),
  );
}

function normaliseLogs(raw: RawLogsRequest): ReceivedLogRecord[] {
  return raw.resourceLogs.flatMap(({ resource, scopeLogs }) =>
    scopeLogs.flatMap((group) =>
      group.logRecords.map((record) => ({
        timeUnixNano: nanos(record.timeUnixNano),
        observedTimeUnixNano: nanos(record.observedTimeUnixNano),
        severityNumber: record.severityNumber ?? 0,
        severityText: record.severityText ?? '',
        body: unwrapAnyValue(record.body),
        attributes: attributes(record.attributes),
        droppedAttributesCount: record.droppedAttributesCount ?? 0,
        flags: record.flags ?? 0,
        traceId: hex(record.traceId),
        spanId: hex(record.spanId),
        eventName: record.eventName ?? '',
        resource: attributes(resource?.attributes ?? []),
        scope: scope(group.scope),
      })),
    ),
  );
}

type Decoded = Pick<ReceivedRequest, 'spans' | 'metrics' | 'logs'>;
/** Fresh arrays each time: records must not share mutable state. */
const nothing = (): Decoded => ({ spans: [], metrics: [], logs: [] });

/** Decodes one export request body, or throws BadRequest saying why it cannot be. */
export function decodeExportRequest(signal: Signal, encoding: Encoding, body: Uint8Array): Decoded {
  switch (signal) {
    case 'traces': {
      const { raw, newer } =
        encoding === 'protobuf'
          ? { raw: decodeProtobuf(ExportTraceServiceRequest, body), newer: newerTraceFieldsFromWire(body) }
          : jsonWithNewer<RawTraceRequest, NewerTraceFields>(ExportTraceServiceRequest, body);
      copyNewerTraceFields(raw, newer);
      return { ...nothing(), spans: normaliseSpans(raw) };
    }
    case 'metrics': {
      const raw =
        encoding === 'protobuf'
          ? decodeProtobuf(ExportMetricsServiceRequest, body)
          : decodeJson(ExportMetricsServiceRequest, body).raw;
      return { ...nothing(), metrics: normaliseMetrics(raw) };
    }
    case 'logs': {
      const { raw, newer } =
        encoding === 'protobuf'
          ? { raw: decodeProtobuf(ExportLogsServiceRequest, body), newer: newerLogFieldsFromWire(body) }
          : jsonWithNewer<RawLogsRequest, NewerLogFields>(ExportLogsServiceRequest, body);
      copyNewerLogFields(raw, newer);
      return { ...nothing(), logs: normaliseLogs(raw) };
    }
  }
}

/** In JSON the newer fields are simply there, in the same places; the copy code checks their types. */
function jsonWithNewer<Raw, Newer>(type: MessageType<Raw>, body: Uint8Array): { raw: Raw; newer: Newer } {
  const { raw, json } = decodeJson(type, body);
  return { raw, newer: json as Newer };
}

// ---------------------------------------------------------------------------------------------
// The HTTP server
// ---------------------------------------------------------------------------------------------

/** How the receiver answers export requests: 200 with an empty Export*ServiceResponse, or an error status. */
export type Respond = 'ok' | { status: number; headers?: Record<string, string>; body?: string };

export interface Behaviour {
  respond?: Respond;
  /**
   * Read, decode and record each export request, then never answer (a collector stuck behind a load
   * balancer). Requests that are rejected (wrong path, media type, body) are still answered.
   */
  hang?: boolean;
}

export interface OtlpReceiverOptions extends Behaviour {
  /** The path each signal is served on; the OTLP defaults /v1/traces, /v1/metrics, /v1/logs unless given. */
  paths?: Partial<Record<Signal, string>>;
  /** Serve HTTPS with this key and certificate; with `ca`, a client certificate it signed is required. */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer };
}

export interface WaitOptions {
  /** 10 s by default. */
  timeoutMs?: number;
  /** What is awaited, for the timeout message; the predicate's source by default. */
  description?: string;
}

export const DEFAULT_PATHS: Readonly<Record<Signal, string>> = {
  traces: '/v1/traces',
  metrics: '/v1/metrics',
  logs: '/v1/logs',
};

const MEDIA_TYPES: Readonly<Record<string, Encoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

export class OtlpReceiver {
  /** Every request received, decoded, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** Base URL, e.g. http://127.0.0.1:40123; append /v1/traces etc. for per-signal endpoints. */
  readonly url: string;
  readonly paths: Readonly<Record<Signal, string>>;

  private behaviour: Required<Behaviour>;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(
    private readonly server: Server,
    options: OtlpReceiverOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.paths = { ...DEFAULT_PATHS, ...options.paths };
    this.behaviour = { respond: options.respond ?? 'ok', hang: options.hang ?? false };
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.receive(request, response));
  }

  /** The full endpoint URL of one signal, e.g. http://127.0.0.1:40123/v1/traces. */
  endpoint(signal: Signal): string {
    return this.url + this.paths[signal];
  }

  /** Changes how later requests are answered (a collector that fails, then recovers). */
  configure(behaviour: Behaviour): void {
    this.behaviour = { ...this.behaviour, ...behaviour };
  }

  spans(): ReceivedSpan[] {
    return this.requests.flatMap((request) => request.spans);
  }

  metrics(): ReceivedMetric[] {
    return this.requests.flatMap((request) => request.metrics);
  }

  logs(): ReceivedLogRecord[] {
    return this.requests.flatMap((request) => request.logs);
  }

  /** Forgets what was received so far. */
  clear(): void {
    this.requests.length = 0;
  }

  /** Waits until `service` has sent a span of each of `names`; resolves with every span of that service. */
  waitForServiceSpans(service: string, names: readonly string[], options: WaitOptions = {}): Promise<ReceivedSpan[]> {
    return this.waitFor(
      (receiver) => {
        const ours = receiver.spans().filter((span) => span.resource['service.name'] === service);
        return names.every((name) => ours.some((span) => span.name === name)) && ours;
      },
      { description: `${names.join(', ')} from ${service}`, ...options },
    );
  }

  /**
   * Resolves with the predicate's first truthy result, checked now and after every request;
   * rejects on timeout (or close) with what was received, so a failing test says what it got.
   */
  waitFor<T>(
    predicate: (receiver: OtlpReceiver) => T,
    options: WaitOptions = {},
  ): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
    const { timeoutMs = 10_000, description = predicate.toString() } = options;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          let result: T;
          try {
            result = predicate(this);
          } catch (error) {
            waiter.fail(error as Error);
            return;
          }
          if (!result) return;
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve(result as Exclude<T, false | 0 | '' | null | undefined>);
        },
        fail: (error) => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(
        () => waiter.fail(new Error(`timed out after ${timeoutMs} ms waiting for ${description}\n${this.describe()}`)),
        timeoutMs,
      );
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** A readable summary of everything received, for assertion messages. */
  describe(): string {
    if (this.requests.length === 0) return `the receiver at ${this.url} received nothing`;
    const lines = this.requests.map((request) => {
      const answer = request.status === null ? 'not answered' : String(request.status);
      const head = `${request.method} ${request.path} [${request.encoding ?? (request.contentType || 'no content type')}] → ${answer}`;
      if (request.error !== undefined) return `${head}: ${request.error}`;
      const content = [
        ...request.spans.map((span) => `span ${span.name}`),
        ...request.metrics.map((metric) => `metric ${metric.name} (${metric.type})`),
        ...request.logs.map((record) => `log ${show(record.body)}`),
      ];
      return `${head}: ${content.length === 0 ? 'empty' : content.join(', ')}`;
    });
    return `the receiver at ${this.url} received ${this.requests.length} request(s):\n  ${lines.join('\n  ')}`;
  }

  /** Stops listening and destroys open connections (hung ones too), so it never outlives a test. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    for (const waiter of this.waiters) waiter.fail(new Error(`the receiver was closed\n${this.describe()}`));
    await closing;
  }

  private receive(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', () => {
      // The client went away mid-request (an exporter timing out); there is nothing to record.
    });
    request.on('end', () => {
      // Never throw inside the server: whatever goes wrong becomes a recorded 400/500.
      let record: ReceivedRequest;
      try {
        record = this.decode(request, Buffer.concat(chunks));
      } catch (error) {
        record = { ...this.envelope(request), bodyBytes: 0, status: 500, error: String(error), ...nothing() };
      }
      this.requests.push(record);
      this.answer(record, response);
      for (const waiter of [...this.waiters]) waiter.check();
    });
  }

  private envelope(
    request: IncomingMessage,
  ): Pick<ReceivedRequest, 'method' | 'path' | 'headers' | 'contentType' | 'contentEncoding'> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return {
      method: request.method ?? '',
      path: new URL(request.url ?? '/', 'http://receiver').pathname,
      headers,
      contentType: headers['content-type'] ?? '',
      contentEncoding: headers['content-encoding'] ?? '',
    };
  }

  /** Checks, in the order a collector does: route, method, media type, encoding, then the body itself. */
  private decode(request: IncomingMessage, received: Buffer): ReceivedRequest {
    const envelope = this.envelope(request);
    const signal = (Object.keys(this.paths) as Signal[]).find((name) => this.paths[name] === envelope.path);
    const mediaType = envelope.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const encoding = MEDIA_TYPES[mediaType];
    const rejected = (status: number, error: string): ReceivedRequest => ({
      ...envelope,
      ...(signal === undefined ? {} : { signal }),
      ...(encoding === undefined ? {} : { encoding }),
      bodyBytes: received.length,
      status,
      error,
      ...nothing(),
    });

    if (signal === undefined) return rejected(404, `no OTLP signal is served on ${envelope.path}`);
    if (envelope.method !== 'POST') return rejected(405, `OTLP/HTTP takes POST, not ${envelope.method}`);
    if (encoding === undefined)
      return rejected(415, `unsupported content type ${JSON.stringify(envelope.contentType)}`);
    let body: Buffer;
    const contentEncoding = envelope.contentEncoding.trim().toLowerCase();
    if (contentEncoding === 'gzip') {
      try {
        body = gunzipSync(received);
      } catch (error) {
        return rejected(400, `invalid gzip body: ${(error as Error).message}`);
      }
    } else if (contentEncoding === '' || contentEncoding === 'identity') {
      body = received;
    } else {
      return rejected(415, `unsupported content encoding ${JSON.stringify(envelope.contentEncoding)}`);
    }

    try {
      const decoded = decodeExportRequest(signal, encoding, body);
      const status = this.behaviour.hang ? null : this.behaviour.respond === 'ok' ? 200 : this.behaviour.respond.status;
      return { ...envelope, signal, encoding, bodyBytes: body.length, status, ...decoded };
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      return { ...rejected(400, error.message), bodyBytes: body.length };
    }
  }

  private answer(record: ReceivedRequest, response: ServerResponse): void {
    if (record.status === null) return; // hang: the socket stays open until the client gives up or close()
    if (record.error !== undefined) {
      response.writeHead(record.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(record.error);
      return;
    }
    const { respond } = this.behaviour;
    if (respond !== 'ok') {
      response.writeHead(respond.status, { 'Content-Type': 'text/plain; charset=utf-8', ...respond.headers });
      response.end(respond.body ?? `receiver configured to answer ${respond.status}`);
      return;
    }
    // The empty Export*ServiceResponse: no partial_success, every item accepted.
    if (record.encoding === 'json') {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    } else {
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end();
    }
  }
}

/** JSON, but total: bigints and byte arrays (which JSON.stringify rejects or spells out) are shown briefly. */
function show(value: AttributeValue): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    typeof field === 'bigint' ? `${field}n` : field instanceof Uint8Array ? `<${field.length} bytes>` : field,
  );
}

/** Listens on a free port of 127.0.0.1; rejects with the listen error. */
export function listenOnLoopback(server: NetServer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts a receiver on 127.0.0.1, on a free port. */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const { tls } = options;
  const server = tls
    ? createHttpsServer({ ...tls, requestCert: tls.ca !== undefined, rejectUnauthorized: tls.ca !== undefined })
    : createServer();
  await listenOnLoopback(server);
  // A test that forgets close() must not keep its process alive forever: whatever a test awaits
  // (a child process, an export, waitFor's timer) keeps the event loop running on its own.
  server.unref();
  return new OtlpReceiver(server, options);
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago): a collector that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
