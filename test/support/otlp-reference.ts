/**
 * The independent reference for the OTLP decoders: export requests decoded with the official
 * opentelemetry-proto definitions (the protobufjs static code that
 * `@opentelemetry/otlp-transformer@0.52.1`, installed as `otlp-proto-definitions`, generated from
 * them) and normalised to the viewer's shape (src/viewer/otlp-types.ts). The test receivers decode
 * through the viewer (src/viewer/otlp-decode.ts); test/viewer.otlp-decode.test.ts checks that
 * decoder against this one value for value, and test/otlp.span-encoder.test.ts decodes the agent's
 * own bytes with it, so a bug in the agent's encoder cannot hide behind the same bug in the decoder.
 * The generated message types are exported too, for tests that hand-craft protobuf payloads.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  type Attributes,
  type AttributeValue,
  type DataPoint,
  type DecodedRequest,
  type Encoding,
  type ExponentialBuckets,
  type LogRecord,
  MalformedRequest,
  type Metric,
  type Scope,
  type Signal,
  type Span,
} from '../../src/viewer/otlp-types.ts';
import { REPO_ROOT } from './runtimes.ts';

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

function decodeProtobuf<Raw>(type: MessageType<Raw>, body: Uint8Array): Raw {
  try {
    return type.toObject(type.decode(body), CONVERSION);
  } catch (error) {
    throw new MalformedRequest(`undecodable protobuf: ${(error as Error).message}`);
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
    throw new MalformedRequest(`invalid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MalformedRequest('the JSON body is not an object');
  }
  try {
    return { raw: type.toObject(type.fromObject(hexIdsToBytes(json) as object), CONVERSION), json };
  } catch (error) {
    if (error instanceof MalformedRequest) throw error;
    throw new MalformedRequest(`JSON does not match the OTLP definitions: ${(error as Error).message}`);
  }
}

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

function hexIdsToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIdsToBytes);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (ID_FIELDS.has(key) && typeof field === 'string') {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(field))
        throw new MalformedRequest(`${key} ${JSON.stringify(field)} is not hex`);
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

function normaliseSpans(raw: RawTraceRequest): Span[] {
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

function pointCommon(point: RawPointCommon): DataPoint {
  return {
    attributes: attributes(point.attributes),
    startTimeUnixNano: nanos(point.startTimeUnixNano),
    timeUnixNano: nanos(point.timeUnixNano),
    flags: point.flags ?? 0,
  };
}

/** The proto3 `optional` fields (sum, min, max) are only copied when they were sent. */
function optionalDoubles(point: { sum?: number; min?: number; max?: number }): Partial<DataPoint> {
  const out: Partial<DataPoint> = {};
  if (point.sum !== undefined) out.sum = point.sum;
  if (point.min !== undefined) out.min = point.min;
  if (point.max !== undefined) out.max = point.max;
  return out;
}

function numberPoint(point: RawNumberDataPoint): DataPoint {
  const out = pointCommon(point);
  if (point.asDouble !== undefined) out.value = point.asDouble;
  else if (point.asInt !== undefined) out.value = integer(point.asInt);
  return out;
}

function histogramPoint(point: RawHistogramDataPoint): DataPoint {
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

function exponentialHistogramPoint(point: RawExponentialHistogramDataPoint): DataPoint {
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

function summaryPoint(point: RawSummaryDataPoint): DataPoint {
  return {
    ...pointCommon(point),
    count: Number(point.count ?? 0),
    sum: point.sum ?? 0,
    quantileValues: point.quantileValues.map(({ quantile = 0, value = 0 }) => ({ quantile, value })),
  };
}

type MetricData = Pick<Metric, 'type' | 'temporality' | 'isMonotonic' | 'dataPoints'>;

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
  throw new MalformedRequest(`metric ${JSON.stringify(metric.name ?? '')} has no data (no gauge, sum, histogram…)`);
}

function normaliseMetrics(raw: RawMetricsRequest): Metric[] {
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

function normaliseLogs(raw: RawLogsRequest): LogRecord[] {
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

/** Fresh arrays each time: records must not share mutable state. */
const nothing = (): DecodedRequest => ({ spans: [], metrics: [], logs: [] });

/** Decodes one export request body with the official definitions, or throws MalformedRequest saying why it cannot be. */
export function referenceDecode(signal: Signal, encoding: Encoding, body: Uint8Array): DecodedRequest {
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
