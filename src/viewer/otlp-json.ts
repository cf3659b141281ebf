/**
 * OTLP/JSON export requests decoded into the viewer's shape. OTLP/JSON is the proto3 JSON mapping
 * with OTLP's own rules (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): trace
 * and span ids are hex, not base64; enums are integers (names are accepted too, as proto3 JSON
 * parsers do); 64-bit integers are decimal strings (or numbers); field names are lowerCamelCase;
 * unknown fields are ignored.
 */
import {
  type Attributes,
  type AttributeValue,
  type DataPoint,
  type DecodedRequest,
  type ExponentialBuckets,
  exactInteger,
  type LogRecord,
  MalformedRequest,
  type Metric,
  type Scope,
  type Span,
} from './otlp-types.ts';

type Json = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new MalformedRequest(`${path}: ${message}`);
}

function object(value: unknown, path: string): Json {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object is expected');
  return value as Json;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, 'an array is expected');
  return value;
}

function text(value: unknown, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(path, 'a string is expected');
  return value;
}

/** int64/uint64/fixed64: a decimal string or an integral number. */
function int64(value: unknown, path: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return fail(path, `${JSON.stringify(value)} is not an integer`);
}

function int32(value: unknown, path: string): number {
  const big = int64(value, path);
  if (big < -(2n ** 31n) || big >= 2n ** 32n) fail(path, `${big} is out of the 32-bit range`);
  return Number(big);
}

/** double: a number, or "NaN", "Infinity", "-Infinity" as strings (proto3 JSON). */
function double(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (value === 'NaN') return Number.NaN;
  return fail(path, `${JSON.stringify(value)} is not a number`);
}

function bool(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') fail(path, 'true or false is expected');
  return value;
}

/** An enum: its number, or its name from `names` (index = number). */
function enumValue(value: unknown, names: readonly string[], path: string): number {
  if (typeof value === 'string' && !/^-?\d+$/.test(value)) {
    const index = names.indexOf(value);
    if (index < 0) fail(path, `${JSON.stringify(value)} is not one of ${names.join(', ')}`);
    return index;
  }
  return int32(value, path);
}

function hexId(value: unknown, path: string): string {
  const id = text(value, path);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(id)) fail(path, `${JSON.stringify(id)} is not hex`);
  return id.toLowerCase();
}

function base64(value: unknown, path: string): Uint8Array {
  const encoded = text(value, path);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(encoded)) fail(path, 'not base64');
  return new Uint8Array(Buffer.from(encoded, 'base64'));
}

// ---------------------------------------------------------------------------------------------

function anyValue(raw: unknown, path: string): AttributeValue {
  const value = object(raw, path);
  if (value.stringValue !== undefined) return text(value.stringValue, `${path}.stringValue`);
  if (value.boolValue !== undefined) return bool(value.boolValue, `${path}.boolValue`);
  if (value.intValue !== undefined) return exactInteger(int64(value.intValue, `${path}.intValue`));
  if (value.doubleValue !== undefined) return double(value.doubleValue, `${path}.doubleValue`);
  if (value.arrayValue !== undefined) {
    const values = list(object(value.arrayValue, `${path}.arrayValue`).values, `${path}.arrayValue.values`);
    return values.map((item, i) => anyValue(item, `${path}.arrayValue.values[${i}]`));
  }
  if (value.kvlistValue !== undefined) {
    return attributes(object(value.kvlistValue, `${path}.kvlistValue`).values, `${path}.kvlistValue.values`);
  }
  if (value.bytesValue !== undefined) return base64(value.bytesValue, `${path}.bytesValue`);
  return null;
}

function attributes(raw: unknown, path: string): Attributes {
  const out: Attributes = {};
  list(raw, path).forEach((entry, i) => {
    const pair = object(entry, `${path}[${i}]`);
    out[text(pair.key, `${path}[${i}].key`)] = anyValue(pair.value, `${path}[${i}].value`);
  });
  return out;
}

function scope(raw: unknown, path: string): Scope {
  const value = object(raw, path);
  return {
    name: text(value.name, `${path}.name`),
    version: text(value.version, `${path}.version`),
    attributes: attributes(value.attributes, `${path}.attributes`),
  };
}

/** resourceX[] → scopeX[] → items[], as in the protobuf decoder. */
function forEachItem(
  body: Json,
  names: { resource: string; scope: string; items: string },
  item: (raw: unknown, path: string, resource: Attributes, scope: Scope) => void,
): void {
  list(body[names.resource], names.resource).forEach((rawGroup, i) => {
    const groupPath = `${names.resource}[${i}]`;
    const group = object(rawGroup, groupPath);
    const resource = attributes(object(group.resource, `${groupPath}.resource`).attributes, `${groupPath}.resource`);
    list(group[names.scope], `${groupPath}.${names.scope}`).forEach((rawScopeGroup, j) => {
      const scopePath = `${groupPath}.${names.scope}[${j}]`;
      const scopeGroup = object(rawScopeGroup, scopePath);
      const groupScope = scope(scopeGroup.scope, `${scopePath}.scope`);
      list(scopeGroup[names.items], `${scopePath}.${names.items}`).forEach((raw, k) => {
        item(raw, `${scopePath}.${names.items}[${k}]`, resource, groupScope);
      });
    });
  });
}

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const TEMPORALITIES = [
  'AGGREGATION_TEMPORALITY_UNSPECIFIED',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
];
const SEVERITIES = [
  'SEVERITY_NUMBER_UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level) =>
    ['', '2', '3', '4'].map((n) => `SEVERITY_NUMBER_${level}${n}`),
  ),
];

function span(raw: unknown, path: string, resource: Attributes, spanScope: Scope): Span {
  const value = object(raw, path);
  const status = object(value.status, `${path}.status`);
  return {
    traceId: hexId(value.traceId, `${path}.traceId`),
    spanId: hexId(value.spanId, `${path}.spanId`),
    parentSpanId: hexId(value.parentSpanId, `${path}.parentSpanId`),
    traceState: text(value.traceState, `${path}.traceState`),
    name: text(value.name, `${path}.name`),
    kind: enumValue(value.kind, SPAN_KINDS, `${path}.kind`),
    flags: int32(value.flags, `${path}.flags`) >>> 0,
    startTimeUnixNano: int64(value.startTimeUnixNano, `${path}.startTimeUnixNano`),
    endTimeUnixNano: int64(value.endTimeUnixNano, `${path}.endTimeUnixNano`),
    attributes: attributes(value.attributes, `${path}.attributes`),
    droppedAttributesCount: int32(value.droppedAttributesCount, `${path}.droppedAttributesCount`),
    events: list(value.events, `${path}.events`).map((rawEvent, i) => {
      const event = object(rawEvent, `${path}.events[${i}]`);
      return {
        name: text(event.name, `${path}.events[${i}].name`),
        timeUnixNano: int64(event.timeUnixNano, `${path}.events[${i}].timeUnixNano`),
        attributes: attributes(event.attributes, `${path}.events[${i}].attributes`),
        droppedAttributesCount: int32(event.droppedAttributesCount, `${path}.events[${i}].droppedAttributesCount`),
      };
    }),
    droppedEventsCount: int32(value.droppedEventsCount, `${path}.droppedEventsCount`),
    links: list(value.links, `${path}.links`).map((rawLink, i) => {
      const link = object(rawLink, `${path}.links[${i}]`);
      const at = `${path}.links[${i}]`;
      return {
        traceId: hexId(link.traceId, `${at}.traceId`),
        spanId: hexId(link.spanId, `${at}.spanId`),
        traceState: text(link.traceState, `${at}.traceState`),
        attributes: attributes(link.attributes, `${at}.attributes`),
        droppedAttributesCount: int32(link.droppedAttributesCount, `${at}.droppedAttributesCount`),
        flags: int32(link.flags, `${at}.flags`) >>> 0,
      };
    }),
    droppedLinksCount: int32(value.droppedLinksCount, `${path}.droppedLinksCount`),
    status: {
      code: enumValue(status.code, STATUS_CODES, `${path}.status.code`),
      message: text(status.message, `${path}.status.message`),
    },
    resource,
    scope: spanScope,
  };
}

function counts(raw: unknown, path: string): number[] {
  return list(raw, path).map((count, i) => Number(int64(count, `${path}[${i}]`)));
}

function pointCommon(value: Json, path: string): DataPoint {
  return {
    attributes: attributes(value.attributes, `${path}.attributes`),
    startTimeUnixNano: int64(value.startTimeUnixNano, `${path}.startTimeUnixNano`),
    timeUnixNano: int64(value.timeUnixNano, `${path}.timeUnixNano`),
    flags: int32(value.flags, `${path}.flags`) >>> 0,
  };
}

function optionalDoubles(value: Json, path: string): Partial<DataPoint> {
  const out: Partial<DataPoint> = {};
  for (const name of ['sum', 'min', 'max'] as const) {
    if (value[name] !== undefined && value[name] !== null) out[name] = double(value[name], `${path}.${name}`);
  }
  return out;
}

function numberPoint(value: Json, path: string): DataPoint {
  const point = pointCommon(value, path);
  if (value.asDouble !== undefined && value.asDouble !== null) point.value = double(value.asDouble, `${path}.asDouble`);
  else if (value.asInt !== undefined && value.asInt !== null)
    point.value = exactInteger(int64(value.asInt, `${path}.asInt`));
  return point;
}

function histogramPoint(value: Json, path: string): DataPoint {
  return {
    ...pointCommon(value, path),
    count: Number(int64(value.count, `${path}.count`)),
    ...optionalDoubles(value, path),
    bucketCounts: counts(value.bucketCounts, `${path}.bucketCounts`),
    explicitBounds: list(value.explicitBounds, `${path}.explicitBounds`).map((bound, i) =>
      double(bound, `${path}.explicitBounds[${i}]`),
    ),
  };
}

function buckets(raw: unknown, path: string): ExponentialBuckets {
  const value = object(raw, path);
  return {
    offset: int32(value.offset, `${path}.offset`),
    bucketCounts: counts(value.bucketCounts, `${path}.bucketCounts`),
  };
}

function exponentialHistogramPoint(value: Json, path: string): DataPoint {
  return {
    ...pointCommon(value, path),
    count: Number(int64(value.count, `${path}.count`)),
    ...optionalDoubles(value, path),
    scale: int32(value.scale, `${path}.scale`),
    zeroCount: Number(int64(value.zeroCount, `${path}.zeroCount`)),
    zeroThreshold: double(value.zeroThreshold, `${path}.zeroThreshold`),
    positive: buckets(value.positive, `${path}.positive`),
    negative: buckets(value.negative, `${path}.negative`),
  };
}

function summaryPoint(value: Json, path: string): DataPoint {
  return {
    ...pointCommon(value, path),
    count: Number(int64(value.count, `${path}.count`)),
    sum: double(value.sum, `${path}.sum`),
    quantileValues: list(value.quantileValues, `${path}.quantileValues`).map((raw, i) => {
      const entry = object(raw, `${path}.quantileValues[${i}]`);
      return {
        quantile: double(entry.quantile, `${path}.quantileValues[${i}].quantile`),
        value: double(entry.value, `${path}.quantileValues[${i}].value`),
      };
    }),
  };
}

const METRIC_DATA = [
  { field: 'sum', type: 'sum', point: numberPoint },
  { field: 'gauge', type: 'gauge', point: numberPoint },
  { field: 'histogram', type: 'histogram', point: histogramPoint },
  { field: 'exponentialHistogram', type: 'exponentialHistogram', point: exponentialHistogramPoint },
  { field: 'summary', type: 'summary', point: summaryPoint },
] as const;

function metric(raw: unknown, path: string, resource: Attributes, metricScope: Scope): Metric {
  const value = object(raw, path);
  const name = text(value.name, `${path}.name`);
  const kind = METRIC_DATA.find(({ field }) => value[field] !== undefined && value[field] !== null);
  if (kind === undefined) fail(path, `metric ${JSON.stringify(name)} has no data (no gauge, sum, histogram…)`);
  const dataPath = `${path}.${kind.field}`;
  const data = object(value[kind.field], dataPath);
  const dataPoints = list(data.dataPoints, `${dataPath}.dataPoints`).map((point, i) =>
    kind.point(object(point, `${dataPath}.dataPoints[${i}]`), `${dataPath}.dataPoints[${i}]`),
  );
  const temporality = () => enumValue(data.aggregationTemporality, TEMPORALITIES, `${dataPath}.aggregationTemporality`);
  const common = {
    name,
    description: text(value.description, `${path}.description`),
    unit: text(value.unit, `${path}.unit`),
  };
  const tail = { dataPoints, resource, scope: metricScope };
  if (kind.type === 'sum') {
    return {
      ...common,
      type: 'sum',
      temporality: temporality(),
      isMonotonic: bool(data.isMonotonic, `${dataPath}.isMonotonic`),
      ...tail,
    };
  }
  if (kind.type === 'gauge' || kind.type === 'summary') return { ...common, type: kind.type, ...tail };
  return { ...common, type: kind.type, temporality: temporality(), ...tail };
}

function logRecord(raw: unknown, path: string, resource: Attributes, recordScope: Scope): LogRecord {
  const value = object(raw, path);
  return {
    timeUnixNano: int64(value.timeUnixNano, `${path}.timeUnixNano`),
    observedTimeUnixNano: int64(value.observedTimeUnixNano, `${path}.observedTimeUnixNano`),
    severityNumber: enumValue(value.severityNumber, SEVERITIES, `${path}.severityNumber`),
    severityText: text(value.severityText, `${path}.severityText`),
    body: value.body === undefined || value.body === null ? null : anyValue(value.body, `${path}.body`),
    attributes: attributes(value.attributes, `${path}.attributes`),
    droppedAttributesCount: int32(value.droppedAttributesCount, `${path}.droppedAttributesCount`),
    flags: int32(value.flags, `${path}.flags`) >>> 0,
    traceId: hexId(value.traceId, `${path}.traceId`),
    spanId: hexId(value.spanId, `${path}.spanId`),
    eventName: text(value.eventName, `${path}.eventName`),
    resource,
    scope: recordScope,
  };
}

function parse(body: Uint8Array): Json {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new MalformedRequest(`invalid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MalformedRequest('the JSON body is not an object');
  }
  return json as Json;
}

export function decodeTracesJson(body: Uint8Array): DecodedRequest {
  const spans: Span[] = [];
  forEachItem(parse(body), { resource: 'resourceSpans', scope: 'scopeSpans', items: 'spans' }, (raw, path, r, s) =>
    spans.push(span(raw, path, r, s)),
  );
  return { spans, metrics: [], logs: [] };
}

export function decodeMetricsJson(body: Uint8Array): DecodedRequest {
  const metrics: Metric[] = [];
  forEachItem(
    parse(body),
    { resource: 'resourceMetrics', scope: 'scopeMetrics', items: 'metrics' },
    (raw, path, r, s) => metrics.push(metric(raw, path, r, s)),
  );
  return { spans: [], metrics, logs: [] };
}

export function decodeLogsJson(body: Uint8Array): DecodedRequest {
  const logs: LogRecord[] = [];
  forEachItem(parse(body), { resource: 'resourceLogs', scope: 'scopeLogs', items: 'logRecords' }, (raw, path, r, s) =>
    logs.push(logRecord(raw, path, r, s)),
  );
  return { spans: [], metrics: [], logs };
}
