/**
 * OTLP/protobuf export requests (ExportTraceServiceRequest, ExportMetricsServiceRequest,
 * ExportLogsServiceRequest) decoded into the viewer's shape. Field numbers are those of
 * opentelemetry-proto v1.5 (https://github.com/open-telemetry/opentelemetry-proto); unknown fields
 * are skipped, as protobuf requires, so newer senders still decode.
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
  type SpanEvent,
  type SpanLink,
} from './otlp-types.ts';
import { ProtobufReader, WireType } from './protobuf-reader.ts';

type FieldReader = (reader: ProtobufReader, field: number, wireType: number) => boolean;

/** Reads a message, handing each field to `read`; a field `read` does not take is skipped. */
function readMessage(reader: ProtobufReader, read: FieldReader): void {
  reader.forEachField((field, wireType) => {
    if (!read(reader, field, wireType)) reader.skip(wireType);
  });
}

function expectWire(wireType: number, expected: number, what: string): void {
  if (wireType !== expected) throw new MalformedRequest(`invalid protobuf: ${what} has wire type ${wireType}`);
}

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

// ---------------------------------------------------------------------------------------------
// common.proto

function anyValue(reader: ProtobufReader): AttributeValue {
  let value: AttributeValue = null;
  readMessage(reader, (r, field, wire) => {
    switch (field) {
      case 1:
        expectWire(wire, WireType.LEN, 'AnyValue.string_value');
        value = r.string();
        return true;
      case 2:
        expectWire(wire, WireType.VARINT, 'AnyValue.bool_value');
        value = r.bool();
        return true;
      case 3:
        expectWire(wire, WireType.VARINT, 'AnyValue.int_value');
        value = exactInteger(r.int64());
        return true;
      case 4:
        expectWire(wire, WireType.I64, 'AnyValue.double_value');
        value = r.double();
        return true;
      case 5: {
        expectWire(wire, WireType.LEN, 'AnyValue.array_value');
        const values: AttributeValue[] = [];
        readMessage(r.message(), (inner, f, w) => {
          if (f !== 1) return false;
          expectWire(w, WireType.LEN, 'ArrayValue.values');
          values.push(anyValue(inner.message()));
          return true;
        });
        value = values;
        return true;
      }
      case 6: {
        expectWire(wire, WireType.LEN, 'AnyValue.kvlist_value');
        const values: Attributes = {};
        readMessage(r.message(), (inner, f, w) => {
          if (f !== 1) return false;
          expectWire(w, WireType.LEN, 'KeyValueList.values');
          keyValue(inner.message(), values);
          return true;
        });
        value = values;
        return true;
      }
      case 7:
        expectWire(wire, WireType.LEN, 'AnyValue.bytes_value');
        value = r.bytesCopy();
        return true;
      default:
        return false;
    }
  });
  return value;
}

function keyValue(reader: ProtobufReader, into: Attributes): void {
  let key = '';
  let value: AttributeValue = null;
  readMessage(reader, (r, field, wire) => {
    if (field === 1) {
      expectWire(wire, WireType.LEN, 'KeyValue.key');
      key = r.string();
      return true;
    }
    if (field === 2) {
      expectWire(wire, WireType.LEN, 'KeyValue.value');
      value = anyValue(r.message());
      return true;
    }
    return false;
  });
  into[key] = value;
}

/** Reads a `repeated KeyValue attributes` field occurrence into `into`. */
function attribute(reader: ProtobufReader, wire: number, into: Attributes, what: string): true {
  expectWire(wire, WireType.LEN, what);
  keyValue(reader.message(), into);
  return true;
}

function resource(reader: ProtobufReader): Attributes {
  const attributes: Attributes = {};
  readMessage(reader, (r, field, wire) => field === 1 && attribute(r, wire, attributes, 'Resource.attributes'));
  return attributes;
}

function scope(reader: ProtobufReader): Scope {
  const out: Scope = { name: '', version: '', attributes: {} };
  readMessage(reader, (r, field, wire) => {
    if (field === 1 || field === 2) {
      expectWire(wire, WireType.LEN, 'InstrumentationScope.name/version');
      out[field === 1 ? 'name' : 'version'] = r.string();
      return true;
    }
    return field === 3 && attribute(r, wire, out.attributes, 'InstrumentationScope.attributes');
  });
  return out;
}

/**
 * The Resource*-ScopeX-item nesting shared by the three signals: field 1 of the request is the
 * resource group; in it, field 1 the resource and field 2 the scope groups; in those, field 1 the
 * scope and field 2 the items.
 */
function forEachItem(
  body: Uint8Array,
  what: string,
  item: (reader: ProtobufReader, resource: Attributes, scope: Scope) => void,
): void {
  readMessage(new ProtobufReader(body), (request, field, wire) => {
    if (field !== 1) return false;
    expectWire(wire, WireType.LEN, `${what} resource group`);
    const resourceGroup = request.message();
    let groupResource: Attributes = {};
    const scopeGroups: Uint8Array[] = [];
    readMessage(resourceGroup, (r, f, w) => {
      if (f === 1) {
        expectWire(w, WireType.LEN, 'resource');
        groupResource = resource(r.message());
        return true;
      }
      if (f === 2) {
        expectWire(w, WireType.LEN, `${what} scope group`);
        scopeGroups.push(r.bytesView());
        return true;
      }
      return false;
    });
    // The resource may come after its scope groups on the wire; items are read once it is known.
    for (const bytes of scopeGroups) {
      let groupScope: Scope = { name: '', version: '', attributes: {} };
      const items: Uint8Array[] = [];
      readMessage(new ProtobufReader(bytes), (r, f, w) => {
        if (f === 1) {
          expectWire(w, WireType.LEN, 'scope');
          groupScope = scope(r.message());
          return true;
        }
        if (f === 2) {
          expectWire(w, WireType.LEN, what);
          items.push(r.bytesView());
          return true;
        }
        return false;
      });
      for (const itemBytes of items) item(new ProtobufReader(itemBytes), groupResource, groupScope);
    }
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// trace.proto

function spanEvent(reader: ProtobufReader): SpanEvent {
  const event: SpanEvent = { name: '', timeUnixNano: 0n, attributes: {}, droppedAttributesCount: 0 };
  readMessage(reader, (r, field, wire) => {
    switch (field) {
      case 1:
        expectWire(wire, WireType.I64, 'Event.time_unix_nano');
        event.timeUnixNano = r.fixed64();
        return true;
      case 2:
        expectWire(wire, WireType.LEN, 'Event.name');
        event.name = r.string();
        return true;
      case 3:
        return attribute(r, wire, event.attributes, 'Event.attributes');
      case 4:
        expectWire(wire, WireType.VARINT, 'Event.dropped_attributes_count');
        event.droppedAttributesCount = r.uint32();
        return true;
      default:
        return false;
    }
  });
  return event;
}

function spanLink(reader: ProtobufReader): SpanLink {
  const link: SpanLink = {
    traceId: '',
    spanId: '',
    traceState: '',
    attributes: {},
    droppedAttributesCount: 0,
    flags: 0,
  };
  readMessage(reader, (r, field, wire) => {
    switch (field) {
      case 1:
      case 2:
        expectWire(wire, WireType.LEN, 'Link.trace_id/span_id');
        link[field === 1 ? 'traceId' : 'spanId'] = hex(r.bytesView());
        return true;
      case 3:
        expectWire(wire, WireType.LEN, 'Link.trace_state');
        link.traceState = r.string();
        return true;
      case 4:
        return attribute(r, wire, link.attributes, 'Link.attributes');
      case 5:
        expectWire(wire, WireType.VARINT, 'Link.dropped_attributes_count');
        link.droppedAttributesCount = r.uint32();
        return true;
      case 6:
        expectWire(wire, WireType.I32, 'Link.flags');
        link.flags = r.fixed32();
        return true;
      default:
        return false;
    }
  });
  return link;
}

function span(reader: ProtobufReader, resourceAttributes: Attributes, spanScope: Scope): Span {
  const out: Span = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    name: '',
    kind: 0,
    flags: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    resource: resourceAttributes,
    scope: spanScope,
  };
  readMessage(reader, (r, field, wire) => {
    switch (field) {
      case 1:
      case 2:
      case 4:
        expectWire(wire, WireType.LEN, 'Span.trace_id/span_id/parent_span_id');
        out[field === 1 ? 'traceId' : field === 2 ? 'spanId' : 'parentSpanId'] = hex(r.bytesView());
        return true;
      case 3:
      case 5:
        expectWire(wire, WireType.LEN, 'Span.trace_state/name');
        out[field === 3 ? 'traceState' : 'name'] = r.string();
        return true;
      case 6:
        expectWire(wire, WireType.VARINT, 'Span.kind');
        out.kind = r.int32();
        return true;
      case 7:
      case 8:
        expectWire(wire, WireType.I64, 'Span.start/end_time_unix_nano');
        out[field === 7 ? 'startTimeUnixNano' : 'endTimeUnixNano'] = r.fixed64();
        return true;
      case 9:
        return attribute(r, wire, out.attributes, 'Span.attributes');
      case 10:
      case 12:
      case 14:
        expectWire(wire, WireType.VARINT, 'Span.dropped_*_count');
        out[field === 10 ? 'droppedAttributesCount' : field === 12 ? 'droppedEventsCount' : 'droppedLinksCount'] =
          r.uint32();
        return true;
      case 11:
        expectWire(wire, WireType.LEN, 'Span.events');
        out.events.push(spanEvent(r.message()));
        return true;
      case 13:
        expectWire(wire, WireType.LEN, 'Span.links');
        out.links.push(spanLink(r.message()));
        return true;
      case 15:
        expectWire(wire, WireType.LEN, 'Span.status');
        out.status = status(r.message());
        return true;
      case 16:
        expectWire(wire, WireType.I32, 'Span.flags');
        out.flags = r.fixed32();
        return true;
      default:
        return false;
    }
  });
  return out;
}

function status(reader: ProtobufReader): { code: number; message: string } {
  const out = { code: 0, message: '' };
  readMessage(reader, (r, field, wire) => {
    if (field === 2) {
      expectWire(wire, WireType.LEN, 'Status.message');
      out.message = r.string();
      return true;
    }
    if (field === 3) {
      expectWire(wire, WireType.VARINT, 'Status.code');
      out.code = r.int32();
      return true;
    }
    return false;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// metrics.proto

/** The fields every data point type has, at its own field numbers. */
interface PointFields {
  attributes: number;
  flags: number;
}

function pointCommon(r: ProtobufReader, point: DataPoint, field: number, wire: number, fields: PointFields): boolean {
  if (field === fields.attributes) return attribute(r, wire, point.attributes, 'DataPoint.attributes');
  if (field === 2 || field === 3) {
    expectWire(wire, WireType.I64, 'DataPoint.start_time_unix_nano/time_unix_nano');
    point[field === 2 ? 'startTimeUnixNano' : 'timeUnixNano'] = r.fixed64();
    return true;
  }
  if (field === fields.flags) {
    expectWire(wire, WireType.VARINT, 'DataPoint.flags');
    point.flags = r.uint32();
    return true;
  }
  return false;
}

const newPoint = (): DataPoint => ({ attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0 });

function readDouble(r: ProtobufReader, wire: number, what: string): number {
  expectWire(wire, WireType.I64, what);
  return r.double();
}

function readCount(r: ProtobufReader, wire: number, what: string): number {
  expectWire(wire, WireType.I64, what);
  return Number(r.fixed64());
}

function numberPoint(reader: ProtobufReader): DataPoint {
  const point = newPoint();
  readMessage(reader, (r, field, wire) => {
    if (pointCommon(r, point, field, wire, { attributes: 7, flags: 8 })) return true;
    if (field === 4) {
      point.value = readDouble(r, wire, 'NumberDataPoint.as_double');
      return true;
    }
    if (field === 6) {
      expectWire(wire, WireType.I64, 'NumberDataPoint.as_int');
      point.value = exactInteger(r.sfixed64());
      return true;
    }
    return false;
  });
  return point;
}

function histogramPoint(reader: ProtobufReader): DataPoint {
  const point = newPoint();
  let count = 0;
  let sum: number | undefined;
  let min: number | undefined;
  let max: number | undefined;
  const bucketCounts: number[] = [];
  const explicitBounds: number[] = [];
  readMessage(reader, (r, field, wire) => {
    if (pointCommon(r, point, field, wire, { attributes: 9, flags: 10 })) return true;
    switch (field) {
      case 4:
        count = readCount(r, wire, 'HistogramDataPoint.count');
        return true;
      case 5:
        sum = readDouble(r, wire, 'HistogramDataPoint.sum');
        return true;
      case 6:
        r.repeated(wire, (packed) => Number(packed.fixed64()), bucketCounts);
        return true;
      case 7:
        r.repeated(wire, (packed) => packed.double(), explicitBounds);
        return true;
      case 11:
        min = readDouble(r, wire, 'HistogramDataPoint.min');
        return true;
      case 12:
        max = readDouble(r, wire, 'HistogramDataPoint.max');
        return true;
      default:
        return false;
    }
  });
  return { ...point, count, ...optionalDoubles(sum, min, max), bucketCounts, explicitBounds };
}

/** The proto3 `optional` doubles are only there when they were sent. */
function optionalDoubles(sum?: number, min?: number, max?: number): Partial<DataPoint> {
  const out: Partial<DataPoint> = {};
  if (sum !== undefined) out.sum = sum;
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  return out;
}

function buckets(reader: ProtobufReader): ExponentialBuckets {
  const out: ExponentialBuckets = { offset: 0, bucketCounts: [] };
  readMessage(reader, (r, field, wire) => {
    if (field === 1) {
      expectWire(wire, WireType.VARINT, 'Buckets.offset');
      out.offset = r.sint32();
      return true;
    }
    if (field === 2) {
      r.repeated(wire, (packed) => Number(packed.uint64()), out.bucketCounts);
      return true;
    }
    return false;
  });
  return out;
}

function exponentialHistogramPoint(reader: ProtobufReader): DataPoint {
  const point = newPoint();
  let count = 0;
  let sum: number | undefined;
  let min: number | undefined;
  let max: number | undefined;
  let scale = 0;
  let zeroCount = 0;
  let zeroThreshold = 0;
  let positive: ExponentialBuckets = { offset: 0, bucketCounts: [] };
  let negative: ExponentialBuckets = { offset: 0, bucketCounts: [] };
  readMessage(reader, (r, field, wire) => {
    if (pointCommon(r, point, field, wire, { attributes: 1, flags: 10 })) return true;
    switch (field) {
      case 4:
        count = readCount(r, wire, 'ExponentialHistogramDataPoint.count');
        return true;
      case 5:
        sum = readDouble(r, wire, 'ExponentialHistogramDataPoint.sum');
        return true;
      case 6:
        expectWire(wire, WireType.VARINT, 'ExponentialHistogramDataPoint.scale');
        scale = r.sint32();
        return true;
      case 7:
        zeroCount = readCount(r, wire, 'ExponentialHistogramDataPoint.zero_count');
        return true;
      case 8:
      case 9: {
        expectWire(wire, WireType.LEN, 'ExponentialHistogramDataPoint.positive/negative');
        const read = buckets(r.message());
        if (field === 8) positive = read;
        else negative = read;
        return true;
      }
      case 12:
        min = readDouble(r, wire, 'ExponentialHistogramDataPoint.min');
        return true;
      case 13:
        max = readDouble(r, wire, 'ExponentialHistogramDataPoint.max');
        return true;
      case 14:
        zeroThreshold = readDouble(r, wire, 'ExponentialHistogramDataPoint.zero_threshold');
        return true;
      default:
        return false;
    }
  });
  return { ...point, count, ...optionalDoubles(sum, min, max), scale, zeroCount, zeroThreshold, positive, negative };
}

function summaryPoint(reader: ProtobufReader): DataPoint {
  const point = newPoint();
  let count = 0;
  let sum = 0;
  const quantileValues: { quantile: number; value: number }[] = [];
  readMessage(reader, (r, field, wire) => {
    if (pointCommon(r, point, field, wire, { attributes: 7, flags: 8 })) return true;
    switch (field) {
      case 4:
        count = readCount(r, wire, 'SummaryDataPoint.count');
        return true;
      case 5:
        sum = readDouble(r, wire, 'SummaryDataPoint.sum');
        return true;
      case 6: {
        expectWire(wire, WireType.LEN, 'SummaryDataPoint.quantile_values');
        const entry = { quantile: 0, value: 0 };
        readMessage(r.message(), (inner, f, w) => {
          if (f !== 1 && f !== 2) return false;
          entry[f === 1 ? 'quantile' : 'value'] = readDouble(inner, w, 'ValueAtQuantile');
          return true;
        });
        quantileValues.push(entry);
        return true;
      }
      default:
        return false;
    }
  });
  return { ...point, count, sum, quantileValues };
}

/** Metric.data oneof: gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11. */
const METRIC_DATA: Record<number, { type: Metric['type']; point: (reader: ProtobufReader) => DataPoint }> = {
  5: { type: 'gauge', point: numberPoint },
  7: { type: 'sum', point: numberPoint },
  9: { type: 'histogram', point: histogramPoint },
  10: { type: 'exponentialHistogram', point: exponentialHistogramPoint },
  11: { type: 'summary', point: summaryPoint },
};

function metric(reader: ProtobufReader, resourceAttributes: Attributes, metricScope: Scope): Metric {
  let name = '';
  let description = '';
  let unit = '';
  let data: Pick<Metric, 'type' | 'temporality' | 'isMonotonic' | 'dataPoints'> | undefined;
  readMessage(reader, (r, field, wire) => {
    if (field >= 1 && field <= 3) {
      expectWire(wire, WireType.LEN, 'Metric.name/description/unit');
      const text = r.string();
      if (field === 1) name = text;
      else if (field === 2) description = text;
      else unit = text;
      return true;
    }
    const kind = METRIC_DATA[field];
    if (kind === undefined) return false;
    expectWire(wire, WireType.LEN, `Metric.${kind.type}`);
    const dataPoints: DataPoint[] = [];
    let temporality = 0;
    let isMonotonic = false;
    readMessage(r.message(), (inner, f, w) => {
      if (f === 1) {
        expectWire(w, WireType.LEN, 'data_points');
        dataPoints.push(kind.point(inner.message()));
        return true;
      }
      if (f === 2 && kind.type !== 'gauge' && kind.type !== 'summary') {
        expectWire(w, WireType.VARINT, 'aggregation_temporality');
        temporality = inner.int32();
        return true;
      }
      if (f === 3 && kind.type === 'sum') {
        expectWire(w, WireType.VARINT, 'is_monotonic');
        isMonotonic = inner.bool();
        return true;
      }
      return false;
    });
    data =
      kind.type === 'sum'
        ? { type: 'sum', temporality, isMonotonic, dataPoints }
        : kind.type === 'gauge' || kind.type === 'summary'
          ? { type: kind.type, dataPoints }
          : { type: kind.type, temporality, dataPoints };
    return true;
  });
  if (data === undefined) {
    throw new MalformedRequest(`metric ${JSON.stringify(name)} has no data (no gauge, sum, histogram…)`);
  }
  return { name, description, unit, ...data, resource: resourceAttributes, scope: metricScope };
}

// ---------------------------------------------------------------------------------------------
// logs.proto

function logRecord(reader: ProtobufReader, resourceAttributes: Attributes, recordScope: Scope): LogRecord {
  const out: LogRecord = {
    timeUnixNano: 0n,
    observedTimeUnixNano: 0n,
    severityNumber: 0,
    severityText: '',
    body: null,
    attributes: {},
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
    resource: resourceAttributes,
    scope: recordScope,
  };
  readMessage(reader, (r, field, wire) => {
    switch (field) {
      case 1:
      case 11:
        expectWire(wire, WireType.I64, 'LogRecord.time_unix_nano/observed_time_unix_nano');
        out[field === 1 ? 'timeUnixNano' : 'observedTimeUnixNano'] = r.fixed64();
        return true;
      case 2:
        expectWire(wire, WireType.VARINT, 'LogRecord.severity_number');
        out.severityNumber = r.int32();
        return true;
      case 3:
      case 12:
        expectWire(wire, WireType.LEN, 'LogRecord.severity_text/event_name');
        out[field === 3 ? 'severityText' : 'eventName'] = r.string();
        return true;
      case 5:
        expectWire(wire, WireType.LEN, 'LogRecord.body');
        out.body = anyValue(r.message());
        return true;
      case 6:
        return attribute(r, wire, out.attributes, 'LogRecord.attributes');
      case 7:
        expectWire(wire, WireType.VARINT, 'LogRecord.dropped_attributes_count');
        out.droppedAttributesCount = r.uint32();
        return true;
      case 8:
        expectWire(wire, WireType.I32, 'LogRecord.flags');
        out.flags = r.fixed32();
        return true;
      case 9:
      case 10:
        expectWire(wire, WireType.LEN, 'LogRecord.trace_id/span_id');
        out[field === 9 ? 'traceId' : 'spanId'] = hex(r.bytesView());
        return true;
      default:
        return false;
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

export function decodeTracesProtobuf(body: Uint8Array): DecodedRequest {
  const spans: Span[] = [];
  forEachItem(body, 'span', (reader, res, sc) => spans.push(span(reader, res, sc)));
  return { spans, metrics: [], logs: [] };
}

export function decodeMetricsProtobuf(body: Uint8Array): DecodedRequest {
  const metrics: Metric[] = [];
  forEachItem(body, 'metric', (reader, res, sc) => metrics.push(metric(reader, res, sc)));
  return { spans: [], metrics, logs: [] };
}

export function decodeLogsProtobuf(body: Uint8Array): DecodedRequest {
  const logs: LogRecord[] = [];
  forEachItem(body, 'log record', (reader, res, sc) => logs.push(logRecord(reader, res, sc)));
  return { spans: [], metrics: [], logs };
}
