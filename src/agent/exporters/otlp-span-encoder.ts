/**
 * OTLP/protobuf encoding of spans (ExportTraceServiceRequest), in place of otlp-transformer's
 * ProtobufTraceSerializer, whose output it reproduces byte for byte (test/otlp.span-encoder.test.ts
 * compares the two). Profiles of the gRPC benchmark put that serializer at ~2.5–3 µs per span; the
 * costs it has and this file avoids:
 * - trace and span ids: a new Uint8Array per id, decoded char by char; here written straight into
 *   the output through a lookup table;
 * - two passes over every span (a size estimate, then the write); here one, into a scratch buffer
 *   kept between calls, and the result copied once into a buffer of the exact size;
 * - resource and instrumentation scope encoded again for every request; here cached by identity.
 * Field order, which fields are skipped when empty, flags and AnyValue typing follow
 * @opentelemetry/otlp-transformer 0.223.0 (trace/protobuf/trace-serializer.js and
 * common/protobuf/common-serializer.js); a change there shows as a failing comparison in the test.
 */
import type { Attributes, HrTime, Link, SpanContext, SpanStatus } from '@opentelemetry/api';
import {
  type IExportTraceServiceResponse,
  type ISerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

// Upstream also writes a scope's attributes and droppedAttributesCount, which the SDK's type does not declare.
type Scope = ReadableSpan['instrumentationScope'] & {
  readonly attributes?: Attributes;
  readonly droppedAttributesCount?: number;
};

// ---------------------------------------------------------------------------------------------
// The scratch buffer and its primitive writers. Module state: serializeRequest is synchronous and
// calls nothing that could call it back.

const INITIAL_SIZE = 64 * 1024;
// A scratch buffer grown past this by one huge batch is let go after it, not kept for the process's life.
const KEPT_SIZE = 4 * 1024 * 1024;

let buf = new Uint8Array(INITIAL_SIZE);
let view = new DataView(buf.buffer);
let pos = 0;

const textEncoder = new TextEncoder();

function grow(needed: number): void {
  let size = buf.length * 2;
  while (size < needed) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, pos));
  buf = next;
  view = new DataView(buf.buffer);
}

function ensure(bytes: number): void {
  if (pos + bytes > buf.length) grow(pos + bytes);
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/**
 * The upstream writer's writeVarint, same results for every input: two's complement for negative
 * numbers (10 bytes), 64-bit for large ones, and what its arithmetic makes of NaN or undefined (0).
 */
function writeVarint(value: number): void {
  ensure(10);
  if (value >= 0 && value <= 0xffffffff) {
    let v = value >>> 0;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return;
  }
  let low: number;
  let high: number;
  if (value >= 0) {
    low = value >>> 0;
    high = (value / 0x100000000) >>> 0;
  } else {
    const abs = Math.abs(value);
    low = ~(abs >>> 0) >>> 0;
    high = ~((abs / 0x100000000) >>> 0) >>> 0;
    low = (low + 1) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
  }
  while (high > 0 || low > 0x7f) {
    buf[pos++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  buf[pos++] = low & 0x7f;
}

/** A length varint (non-negative, below 2^32) at `at`, which has room for it. */
function putLength(at: number, v: number): void {
  while (v > 0x7f) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at] = v;
}

/** Reserves `reserved` bytes for the length of a nested message; returns where they start. */
function begin(reserved: number): number {
  ensure(reserved);
  const start = pos;
  pos += reserved;
  return start;
}

/** Writes the nested message's length, moving its bytes when the length took more or less room than reserved. */
function end(start: number, reserved: number): void {
  const length = pos - start - reserved;
  const size = varintSize(length);
  if (size !== reserved) {
    ensure(size - reserved);
    buf.copyWithin(start + size, start + reserved, pos);
    pos += size - reserved;
  }
  putLength(start, length);
}

/** A field's tag, when it fits one byte (field numbers up to 15): every tag this encoder writes. */
function writeTag(tag: number): void {
  ensure(1);
  buf[pos++] = tag;
}

function writeFixed32(v: number): void {
  ensure(4);
  buf[pos++] = v & 0xff;
  buf[pos++] = (v >>> 8) & 0xff;
  buf[pos++] = (v >>> 16) & 0xff;
  buf[pos++] = (v >>> 24) & 0xff;
}

/** HrTime as fixed64 nanoseconds, with the upstream arithmetic (exact beyond 2^53, no BigInt). */
function writeHrTime(time: HrTime): void {
  const seconds = time[0];
  const nanos = time[1];
  const fromLower = (seconds & 0xffff) * 1_000_000_000;
  const fromUpper = ((seconds / 0x10000) >>> 0) * 1_000_000_000;
  const lowWithCarry = (fromLower >>> 0) + (((fromUpper & 0xffff) * 0x10000) >>> 0) + nanos;
  const low = lowWithCarry >>> 0;
  const high =
    (Math.floor(fromLower / 0x100000000) + ((fromUpper / 0x10000) >>> 0) + Math.floor(lowWithCarry / 0x100000000)) >>>
    0;
  writeFixed32(low);
  writeFixed32(high);
}

/**
 * A string's length and UTF-8 bytes. ASCII, the usual case, is copied char by char; anything else
 * goes through TextEncoder, as upstream (so lone surrogates become U+FFFD alike).
 */
function writeString(s: string): void {
  const n = s.length;
  if (n < 64) {
    ensure(n + 1);
    let p = pos + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        writeUtf8(s);
        return;
      }
      buf[p++] = c;
    }
    buf[pos] = n;
    pos = p;
    return;
  }
  writeUtf8(s);
}

function writeUtf8(s: string): void {
  // At most 3 bytes per UTF-16 unit; reserve room for the largest length, move back when shorter.
  const most = s.length * 3;
  const reserved = varintSize(most);
  ensure(reserved + most);
  const { written } = textEncoder.encodeInto(s, buf.subarray(pos + reserved, pos + reserved + most));
  const start = pos;
  pos += reserved + written;
  end(start, reserved);
}

function writeBytes(bytes: Uint8Array): void {
  writeVarint(bytes.length);
  ensure(bytes.length);
  buf.set(bytes, pos);
  pos += bytes.length;
}

// Hex digit values as upstream's hexToBinary computes them, for every char code (garbage in, same garbage out).
const hexValue = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c - 55);
const HEX = Int16Array.from({ length: 256 }, (_, c) => hexValue(c));

/** A hex id as bytes (length, then the bytes), decoded straight into the buffer. */
function writeHexId(hex: string): void {
  const n = hex.length;
  // Upstream fails here too (new Uint8Array(n / 2) throws), failing the export.
  if (n & 1) throw new RangeError(`invalid trace or span id (odd length ${n})`);
  const bytes = n >>> 1;
  ensure(bytes + 5);
  if (bytes < 0x80) buf[pos++] = bytes;
  else writeVarint(bytes);
  for (let i = 0; i < n; i += 2) {
    const a = hex.charCodeAt(i);
    const b = hex.charCodeAt(i + 1);
    const hi = a < 256 ? (HEX[a] as number) : hexValue(a);
    const lo = b < 256 ? (HEX[b] as number) : hexValue(b);
    buf[pos++] = (hi << 4) | lo;
  }
}

// ---------------------------------------------------------------------------------------------
// OTLP messages, field for field as upstream writes them.

// int_value for integers in int64's range (beyond 2^53 too), double_value for the rest.
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** Repeated KeyValue `field` (tag byte) from an attribute record; own enumerable keys, in for-in order. */
function writeAttributes(attributes: Attributes, tag: number): void {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    writeTag(tag);
    writeKeyValue(key, attributes[key]);
  }
}

function writeKeyValue(key: string, value: unknown): void {
  if (typeof value === 'string' && key.length + value.length <= 121 && writeShortStringKeyValue(key, value)) return;
  const kv = begin(1);
  writeTag(0x0a); // key
  writeString(key);
  writeTag(0x12); // value (AnyValue)
  const any = begin(1);
  writeAnyValue(value);
  end(any, 1);
  end(kv, 1);
}

/**
 * The usual attribute, fused: a string value, key and value ASCII and short enough that every
 * length is one byte and known before writing. Writes nothing and returns false otherwise.
 */
function writeShortStringKeyValue(key: string, value: string): boolean {
  const keyLength = key.length;
  const valueLength = value.length;
  ensure(keyLength + valueLength + 7);
  let p = pos;
  buf[p++] = keyLength + valueLength + 6; // KeyValue's length
  buf[p++] = 0x0a; // key
  buf[p++] = keyLength;
  for (let i = 0; i < keyLength; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return false;
    buf[p++] = c;
  }
  buf[p++] = 0x12; // value
  buf[p++] = valueLength + 2;
  buf[p++] = 0x0a; // string_value
  buf[p++] = valueLength;
  for (let i = 0; i < valueLength; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) return false;
    buf[p++] = c;
  }
  pos = p;
  return true;
}

/** AnyValue's content. Values of no OTLP type (null, undefined, functions, bigint…) leave it empty, as upstream. */
function writeAnyValue(value: unknown): void {
  switch (typeof value) {
    case 'string':
      writeTag(0x0a); // string_value
      writeString(value);
      return;
    case 'boolean':
      ensure(2);
      buf[pos++] = 0x10; // bool_value
      buf[pos++] = value ? 1 : 0;
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        writeTag(0x18); // int_value
        writeVarint(value);
      } else {
        ensure(9);
        buf[pos++] = 0x21; // double_value
        view.setFloat64(pos, value, true);
        pos += 8;
      }
      return;
    case 'object':
      if (value === null) return;
      if (value instanceof Uint8Array) {
        writeTag(0x3a); // bytes_value
        writeBytes(value);
      } else if (Array.isArray(value)) {
        writeTag(0x2a); // array_value
        const array = begin(1);
        for (const item of value) {
          writeTag(0x0a); // values
          const itemStart = begin(1);
          writeAnyValue(item);
          end(itemStart, 1);
        }
        end(array, 1);
      } else {
        writeTag(0x32); // kvlist_value
        const list = begin(1);
        writeAttributes(value as Attributes, 0x0a);
        end(list, 1);
      }
      return;
  }
}

/** Span flags: the trace flags, and whether the context (parent for a span, the link's own) is remote. */
const spanFlags = (traceFlags: number, isRemote: boolean | undefined) =>
  (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

function writeEvent(event: TimedEvent): void {
  writeTag(0x5a); // Span.events
  const start = begin(1);
  ensure(10);
  buf[pos++] = 0x09; // time_unix_nano
  writeHrTime(event.time);
  buf[pos++] = 0x12; // name
  writeString(event.name);
  if (event.attributes) writeAttributes(event.attributes, 0x1a);
  writeTag(0x20); // dropped_attributes_count
  writeVarint(event.droppedAttributesCount || 0);
  end(start, 1);
}

/** trace_id, span_id and trace_state: fields 1 to 3 of a Span and of a Span.Link alike. */
function writeContextFields(context: SpanContext): void {
  writeTag(0x0a); // trace_id
  writeHexId(context.traceId);
  writeTag(0x12); // span_id
  writeHexId(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    writeTag(0x1a); // trace_state
    writeString(traceState);
  }
}

function writeLink(link: Link): void {
  writeTag(0x6a); // Span.links
  const start = begin(1);
  const context = link.context;
  writeContextFields(context);
  if (link.attributes) writeAttributes(link.attributes, 0x22);
  writeTag(0x28); // dropped_attributes_count
  writeVarint(link.droppedAttributesCount || 0);
  ensure(5);
  buf[pos++] = 0x35; // flags
  writeFixed32(spanFlags(context.traceFlags, context.isRemote));
  end(start, 1);
}

function writeStatus(status: SpanStatus): void {
  writeTag(0x7a); // Span.status
  const start = begin(1);
  if (status.message) {
    writeTag(0x12);
    writeString(status.message);
  }
  writeTag(0x18); // code
  writeVarint(status.code);
  end(start, 1);
}

/** One Span, tag included. Two bytes reserved for its length: a span with attributes is 128 bytes or more. */
function writeSpan(span: ReadableSpan): void {
  const ctx = span.spanContext();
  writeTag(0x12); // ScopeSpans.spans
  const start = begin(2);
  writeContextFields(ctx);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    writeTag(0x22); // parent_span_id
    writeHexId(parent.spanId);
  }
  writeTag(0x2a); // name
  writeString(span.name);
  // OTLP's SpanKind counts from UNSPECIFIED = 0, the API's from INTERNAL = 0.
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    writeTag(0x30);
    writeVarint(kind);
  }
  ensure(18);
  buf[pos++] = 0x39; // start_time_unix_nano
  writeHrTime(span.startTime);
  buf[pos++] = 0x41; // end_time_unix_nano
  writeHrTime(span.endTime);
  if (span.attributes) writeAttributes(span.attributes, 0x4a);
  writeTag(0x50); // dropped_attributes_count
  writeVarint(span.droppedAttributesCount);
  for (const event of span.events) writeEvent(event);
  writeTag(0x60); // dropped_events_count
  writeVarint(span.droppedEventsCount);
  for (const link of span.links) writeLink(link);
  writeTag(0x70); // dropped_links_count
  writeVarint(span.droppedLinksCount);
  writeStatus(span.status);
  ensure(6);
  buf[pos++] = 0x85; // flags: field 16, fixed32
  buf[pos++] = 0x01;
  writeFixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
  end(start, 2);
}

// ---------------------------------------------------------------------------------------------
// Resource and scope: the same objects for every span, so their bytes are made once. Entries keep
// what they were made from and are remade if that changed: a resource's attributes object is new on
// every read while async attributes are pending.

interface Encoded {
  /** The message with its tag: ResourceSpans.resource or ScopeSpans.scope. */
  readonly head: Uint8Array;
  /** The schema_url field that ends ResourceSpans or ScopeSpans, empty if none. */
  readonly tail: Uint8Array;
}

interface ResourceEntry extends Encoded {
  readonly attributes: Resource['attributes'];
  readonly schemaUrl: string | undefined;
}

interface ScopeEntry extends Encoded {
  readonly name: string;
  readonly version: string | undefined;
  readonly schemaUrl: string | undefined;
  readonly attributes: Attributes | undefined;
  readonly droppedAttributesCount: number | undefined;
}

const resources = new WeakMap<Resource, ResourceEntry>();
const scopes = new WeakMap<Scope, ScopeEntry>();

/** Runs `write` at the scratch buffer's end and returns a copy of what it wrote. */
function encodeApart(write: () => void): Uint8Array {
  const start = pos;
  write();
  const bytes = buf.slice(start, pos);
  pos = start;
  return bytes;
}

const schemaUrlField = (schemaUrl: string | undefined) =>
  encodeApart(() => {
    if (!schemaUrl) return;
    writeTag(0x1a); // schema_url, field 3 in both ResourceSpans and ScopeSpans
    writeString(schemaUrl);
  });

function encodedResource(resource: Resource): Encoded {
  const attributes = resource.attributes;
  const schemaUrl = resource.schemaUrl;
  const cached = resources.get(resource);
  if (cached && cached.attributes === attributes && cached.schemaUrl === schemaUrl) return cached;
  const head = encodeApart(() => {
    writeTag(0x0a); // ResourceSpans.resource
    const start = begin(1);
    if (attributes) writeAttributes(attributes, 0x0a);
    ensure(2);
    buf[pos++] = 0x10; // dropped_attributes_count: upstream always writes 0
    buf[pos++] = 0;
    end(start, 1);
  });
  const entry = { head, tail: schemaUrlField(schemaUrl), attributes, schemaUrl };
  resources.set(resource, entry);
  return entry;
}

function encodedScope(scope: Scope): Encoded {
  const { name, version, schemaUrl, attributes, droppedAttributesCount } = scope;
  const cached = scopes.get(scope);
  if (
    cached &&
    cached.name === name &&
    cached.version === version &&
    cached.schemaUrl === schemaUrl &&
    cached.attributes === attributes &&
    cached.droppedAttributesCount === droppedAttributesCount
  ) {
    return cached;
  }
  const head = encodeApart(() => {
    writeTag(0x0a); // ScopeSpans.scope
    const start = begin(1);
    writeTag(0x0a); // name
    writeString(name);
    if (version) {
      writeTag(0x12);
      writeString(version);
    }
    if (attributes) writeAttributes(attributes, 0x1a);
    if (droppedAttributesCount) {
      writeTag(0x20);
      writeVarint(droppedAttributesCount);
    }
    end(start, 1);
  });
  const entry = {
    head,
    tail: schemaUrlField(schemaUrl),
    name,
    version,
    schemaUrl,
    attributes,
    droppedAttributesCount,
  };
  scopes.set(scope, entry);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// The request

/** Spans grouped by resource, then by scope, both in first-seen order (as upstream, by identity). */
function group(spans: ReadableSpan[]): Map<Resource, Map<Scope, ReadableSpan[]>> {
  const byResource = new Map<Resource, Map<Scope, ReadableSpan[]>>();
  let lastResource: Resource | undefined;
  let lastScope: Scope | undefined;
  let last: ReadableSpan[] = [];
  for (const span of spans) {
    const resource = span.resource;
    const scope = span.instrumentationScope;
    // Batches are mostly runs of spans from one resource and scope: skip the lookups for those.
    if (resource === lastResource && scope === lastScope) {
      last.push(span);
      continue;
    }
    let byScope = byResource.get(resource);
    if (!byScope) {
      byScope = new Map();
      byResource.set(resource, byScope);
    }
    let list = byScope.get(scope);
    if (!list) {
      list = [];
      byScope.set(scope, list);
    }
    list.push(span);
    lastResource = resource;
    lastScope = scope;
    last = list;
  }
  return byResource;
}

interface ScopeGroup {
  readonly scope: Encoded;
  /** Where its spans' bytes are in the scratch buffer. */
  readonly start: number;
  readonly end: number;
  readonly length: number;
}

interface ResourceGroup {
  readonly resource: Encoded;
  readonly scopes: ScopeGroup[];
  readonly length: number;
}

function copyInto(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out.set(bytes, at);
  return at + bytes.length;
}

function putTagAndLength(out: Uint8Array, at: number, tag: number, length: number): number {
  out[at++] = tag;
  while (length > 0x7f) {
    out[at++] = (length & 0x7f) | 0x80;
    length >>>= 7;
  }
  out[at++] = length;
  return at;
}

/**
 * ExportTraceServiceRequest from spans. The spans are encoded into the scratch buffer, group after
 * group; the lengths of ResourceSpans and ScopeSpans are then known, and the request is assembled
 * in a new buffer of its exact size (the exporter keeps it while the export is in flight).
 */
export function serializeSpans(spans: ReadableSpan[]): Uint8Array {
  pos = 0;
  try {
    const groups: ResourceGroup[] = [];
    let total = 0;
    for (const [resource, byScope] of group(spans)) {
      const encodedRes = encodedResource(resource);
      const scopeGroups: ScopeGroup[] = [];
      let resourceLength = encodedRes.head.length + encodedRes.tail.length;
      for (const [scope, list] of byScope) {
        const encodedSc = encodedScope(scope);
        const start = pos;
        for (const span of list) writeSpan(span);
        const length = encodedSc.head.length + (pos - start) + encodedSc.tail.length;
        scopeGroups.push({ scope: encodedSc, start, end: pos, length });
        resourceLength += 1 + varintSize(length) + length;
      }
      groups.push({ resource: encodedRes, scopes: scopeGroups, length: resourceLength });
      total += 1 + varintSize(resourceLength) + resourceLength;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const resourceGroup of groups) {
      at = putTagAndLength(out, at, 0x0a, resourceGroup.length); // ExportTraceServiceRequest.resource_spans
      at = copyInto(out, at, resourceGroup.resource.head);
      for (const scopeGroup of resourceGroup.scopes) {
        at = putTagAndLength(out, at, 0x12, scopeGroup.length); // ResourceSpans.scope_spans
        at = copyInto(out, at, scopeGroup.scope.head);
        at = copyInto(out, at, buf.subarray(scopeGroup.start, scopeGroup.end));
        at = copyInto(out, at, scopeGroup.scope.tail);
      }
      at = copyInto(out, at, resourceGroup.resource.tail);
    }
    return out;
  } finally {
    pos = 0;
    if (buf.length > KEPT_SIZE) {
      buf = new Uint8Array(INITIAL_SIZE);
      view = new DataView(buf.buffer);
    }
  }
}

/** ISerializer, with a body always made (an empty one for no spans, as upstream). */
export interface SpanSerializer extends ISerializer<ReadableSpan[], IExportTraceServiceResponse> {
  serializeRequest(spans: ReadableSpan[]): Uint8Array;
}

/** The serializer the OTLP/HTTP span exporter uses for protobuf; responses are decoded by upstream's code. */
export const ProtobufSpanEncoder: SpanSerializer = {
  serializeRequest: serializeSpans,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};
