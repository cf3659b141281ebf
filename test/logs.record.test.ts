/**
 * How one serialized pino record becomes one OpenTelemetry log record (src/agent/logs/record.ts):
 * severities, time formats, the fields that are the resource's or the trace context's, errors, and
 * the bounds on what a record may carry. The end-to-end tests (logs.pino.test.ts) show the same on
 * every runtime; these cover the table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeverityNumber } from '@opentelemetry/api-logs';
import {
  type CorrelationFields,
  type PinoRecordShape,
  RECORD_BOUNDS,
  severityFromPinoLevel,
  toLogRecord,
} from '../src/agent/logs/record.ts';

const SHAPE: PinoRecordShape = { messageKey: 'msg', errorKey: 'err', label: 'info' };

describe('severityFromPinoLevel', () => {
  const table: [level: number, severity: SeverityNumber][] = [
    [10, SeverityNumber.TRACE],
    [20, SeverityNumber.DEBUG],
    [30, SeverityNumber.INFO],
    [40, SeverityNumber.WARN],
    [50, SeverityNumber.ERROR],
    [60, SeverityNumber.FATAL],
    // Custom levels: the band of the standard level below, in proportion.
    [15, SeverityNumber.TRACE3],
    [25, SeverityNumber.DEBUG3],
    [35, SeverityNumber.INFO3],
    [39, SeverityNumber.INFO4],
    [42, SeverityNumber.WARN],
    [43, SeverityNumber.WARN2],
    [45, SeverityNumber.WARN3],
    [58, SeverityNumber.ERROR4],
    [65, SeverityNumber.FATAL3],
    // Out of the standard range.
    [0, SeverityNumber.TRACE],
    [5, SeverityNumber.TRACE],
    [70, SeverityNumber.FATAL4],
    [1000, SeverityNumber.FATAL4],
    [Number.POSITIVE_INFINITY, SeverityNumber.UNSPECIFIED],
    [Number.NaN, SeverityNumber.UNSPECIFIED],
  ];
  for (const [level, severity] of table) {
    test(`${level} → ${SeverityNumber[severity]}`, () => assert.equal(severityFromPinoLevel(level), severity));
  }
});

describe('toLogRecord', () => {
  test("pino's default record: msg is the body, time the timestamp, pid and hostname (the resource's) and level are left out", () => {
    const record = { level: 30, time: 1_700_000_000_123, pid: 42, hostname: 'box', msg: 'hello', key: 'k1', n: 2 };
    assert.deepEqual(toLogRecord(record, 30, SHAPE, undefined), {
      severityNumber: SeverityNumber.INFO,
      severityText: 'info',
      body: 'hello',
      timestamp: 1_700_000_000_123,
      attributes: { key: 'k1', n: 2 },
    });
  });

  const times: [name: string, time: unknown, timestamp: number][] = [
    ['epochTime (ms)', 1_700_000_000_123, 1_700_000_000_123],
    ['unixTime (s)', 1_700_000_000, 1_700_000_000_000],
    ['isoTime', '2023-11-14T22:13:20.123Z', 1_700_000_000_123],
    ['isoTimeNano', '2023-11-14T22:13:20.123456789Z', 1_700_000_000_123],
  ];
  for (const [name, time, timestamp] of times) {
    test(`time from pino.stdTimeFunctions.${name}`, () => {
      const result = toLogRecord({ level: 30, time, msg: 'm' }, 30, SHAPE, undefined);
      assert.equal(result.timestamp, timestamp);
      assert.deepEqual(result.attributes, {});
    });
  }

  test('a time that is not one of pino’s stays an attribute, and the SDK stamps the record', () => {
    const result = toLogRecord({ level: 30, time: 'at dawn', msg: 'm' }, 30, SHAPE, undefined);
    assert.equal(result.timestamp, undefined);
    assert.deepEqual(result.attributes, { time: 'at dawn' });
  });

  test('no msg: no body; the logger’s messageKey and a label outside the standard ones', () => {
    const shape = { messageKey: 'message', errorKey: 'err', label: 'notice' };
    assert.deepEqual(toLogRecord({ level: 35, msg: 'an attribute here' }, 35, shape, undefined), {
      severityNumber: SeverityNumber.INFO3,
      severityText: 'notice',
      attributes: { msg: 'an attribute here' },
    });
    assert.equal(toLogRecord({ level: 35, message: 'body' }, 35, shape, undefined).body, 'body');
  });

  test('the level is taken from pino, not from a record whose formatters rewrote it', () => {
    const result = toLogRecord({ level: 'WARNING', msg: 'm' }, 40, { ...SHAPE, label: 'warn' }, undefined);
    assert.equal(result.severityNumber, SeverityNumber.WARN);
    assert.equal(result.severityText, 'warn');
    assert.deepEqual(result.attributes, {});
  });

  test("a serialized error under the errorKey becomes exception.*; the error's other fields stay under its key", () => {
    const err = {
      type: 'TypeError',
      message: 'bad',
      stack: 'TypeError: bad\n    at f (a.js:1:1)',
      code: 'E1',
      extra: { n: 1 },
    };
    assert.deepEqual(
      toLogRecord({ level: 50, error: err, msg: 'failed' }, 50, { ...SHAPE, errorKey: 'error' }, undefined).attributes,
      {
        'exception.type': 'TypeError',
        'exception.message': 'bad',
        'exception.stacktrace': 'TypeError: bad\n    at f (a.js:1:1)',
        err: { code: 'E1', extra: { n: 1 } },
      },
    );
    const plain = { level: 50, err: { type: 'Error', message: 'only this' }, msg: 'm' };
    assert.deepEqual(toLogRecord(plain, 50, SHAPE, undefined).attributes, {
      'exception.type': 'Error',
      'exception.message': 'only this',
    });
  });

  test('an errorKey value that is not a serialized error stays as it is', () => {
    for (const err of ['text', 7, ['a'], { code: 'E1' }]) {
      assert.deepEqual(toLogRecord({ level: 50, err, msg: 'm' }, 50, SHAPE, undefined).attributes, { err });
    }
  });

  test("correlation fields equal to the active span's are the record's trace context, not attributes; others stay", () => {
    const active: CorrelationFields = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), trace_flags: '01' };
    const same = { level: 30, ...active, msg: 'm' };
    assert.deepEqual(toLogRecord(same, 30, SHAPE, active).attributes, {});
    const own = { level: 30, trace_id: 'from-app', span_id: active.span_id, trace_flags: '01', msg: 'm' };
    assert.deepEqual(toLogRecord(own, 30, SHAPE, active).attributes, { trace_id: 'from-app' });
    assert.deepEqual(toLogRecord(same, 30, SHAPE, undefined).attributes, active);
  });

  describe('bounds', () => {
    test(`objects and arrays nested deeper than ${RECORD_BOUNDS.depth} levels (the field's value is the first) are summarised`, () => {
      const deep = { a: { b: { c: { d: { e: { f: 1 } } } } }, list: [[[[['x']]]]], flat: { n: 1 } };
      assert.deepEqual(toLogRecord({ level: 30, ...deep }, 30, SHAPE, undefined).attributes, {
        a: { b: { c: { d: { e: '[Object]' } } } },
        list: [[[['[Array]']]]],
        flat: { n: 1 },
      });
    });

    test(`at most ${RECORD_BOUNDS.values} values per record, nested ones included`, () => {
      const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
      assert.equal(Object.keys(toLogRecord({ level: 30, ...wide }, 30, SHAPE, undefined).attributes ?? {}).length, 256);
      const long = Array.from({ length: 1000 }, (_, i) => i);
      const attributes = toLogRecord(
        { level: 30, first: 'kept', long, after: 'dropped' },
        30,
        SHAPE,
        undefined,
      ).attributes;
      // 'first' and the array itself are two values; the array gets what is left.
      assert.deepEqual(attributes, { first: 'kept', long: long.slice(0, RECORD_BOUNDS.values - 2) });
    });

    test(`at most ${RECORD_BOUNDS.characters} characters of strings per record; the body has its own`, () => {
      const a = 'a'.repeat(20_000);
      const b = 'b'.repeat(20_000);
      const result = toLogRecord({ level: 30, msg: 'c'.repeat(40_000), a, b }, 30, SHAPE, undefined);
      assert.deepEqual(result.attributes, { a, b: b.slice(0, RECORD_BOUNDS.characters - a.length) });
      assert.equal(result.body, 'c'.repeat(RECORD_BOUNDS.characters));
    });
  });
});
