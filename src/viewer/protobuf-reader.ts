/**
 * A reader of the protobuf wire format, just enough for the OTLP messages: varints, fixed 32/64-bit
 * values, length-delimited fields and packed repeated fields. The viewer ships without protobufjs
 * (a dev dependency), and the OTLP messages need no more than this.
 * https://protobuf.dev/programming-guides/encoding/
 */
import { MalformedRequest } from './otlp-types.ts';

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const utf8 = new TextDecoder('utf-8');

export class ProtobufReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Calls `onField` for each field in wire order; `onField` must read or skip the value. */
  forEachField(onField: (field: number, wireType: number) => void): void {
    while (this.pos < this.bytes.length) {
      const tag = this.uint32();
      const field = tag >>> 3;
      if (field === 0) this.fail('field number 0');
      onField(field, tag & 7);
    }
  }

  /** A varint as a bigint (uint64). */
  uint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.byte();
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint's low 32 bits, unsigned (uint32, and the tag itself). */
  uint32(): number {
    let result = 0;
    for (let i = 0; i < 10; i++) {
      const byte = this.byte();
      if (i < 5) result += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** int32 and enums: the low 32 bits, two's complement. */
  int32(): number {
    return this.uint32() | 0;
  }

  /** int64 (two's complement in a varint). */
  int64(): bigint {
    return BigInt.asIntN(64, this.uint64());
  }

  /** sint32 (zigzag). */
  sint32(): number {
    const value = this.uint32();
    return (value >>> 1) ^ -(value & 1);
  }

  bool(): boolean {
    return this.uint64() !== 0n;
  }

  fixed32(): number {
    this.need(4);
    const value = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  fixed64(): bigint {
    this.need(8);
    const value = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return value;
  }

  sfixed64(): bigint {
    return BigInt.asIntN(64, this.fixed64());
  }

  double(): number {
    this.need(8);
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** A length-delimited value, without copying. */
  bytesView(): Uint8Array {
    const length = this.uint32();
    this.need(length);
    const value = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** Bytes a caller keeps: a copy, so that it does not pin the whole request body. */
  bytesCopy(): Uint8Array {
    // A plain Uint8Array even when the body is a Buffer (whose slice() is a Buffer).
    return new Uint8Array(this.bytesView());
  }

  string(): string {
    return utf8.decode(this.bytesView());
  }

  /** An embedded message: a reader over its bytes. */
  message(): ProtobufReader {
    return new ProtobufReader(this.bytesView());
  }

  /** A repeated scalar, packed (one LEN field) or not (one field per value). */
  repeated<T>(wireType: number, read: (reader: ProtobufReader) => T, into: T[]): void {
    if (wireType !== WireType.LEN) {
      into.push(read(this));
      return;
    }
    const packed = this.message();
    while (packed.pos < packed.bytes.length) into.push(read(packed));
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.uint64();
        return;
      case WireType.I64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LEN:
        this.bytesView();
        return;
      case WireType.I32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        // Groups are deprecated and no OTLP message has one.
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  private byte(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  private need(count: number): void {
    if (this.pos + count > this.bytes.length) {
      this.fail(`truncated: ${count} byte(s) needed, ${this.bytes.length - this.pos} left`);
    }
  }

  private fail(reason: string): never {
    throw new MalformedRequest(`invalid protobuf at byte ${this.pos}: ${reason}`);
  }
}
