/**
 * The viewer's trace model (src/viewer/model.ts) and terminal renderer on spans made by hand: a
 * cross-process trace is one tree, children in start order, log records under their span; a trace
 * is shown when its root has settled or after the quiet period; late spans show it again; spans
 * whose parent never came, or whose parents form a cycle, are still shown; memory stays bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AssembledTrace, DEFAULT_LIMITS, TraceModel, walk } from '../src/viewer/model.ts';
import type { LogRecord, Span } from '../src/viewer/otlp-types.ts';
import { renderTrace } from '../src/viewer/render-terminal.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const MS = 1_000_000n;
const T0 = 1_700_000_000_000n * MS;

function span(
  spanId: string,
  parentSpanId: string,
  name: string,
  service: string,
  startMs: number,
  endMs: number,
  kind = 1,
): Span {
  return {
    traceId: TRACE,
    spanId: spanId.padStart(16, '0'),
    parentSpanId: parentSpanId === '' ? '' : parentSpanId.padStart(16, '0'),
    traceState: '',
    name,
    kind,
    flags: 1,
    startTimeUnixNano: T0 + BigInt(startMs) * MS,
    endTimeUnixNano: T0 + BigInt(endMs) * MS,
    attributes: kind === 3 ? { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 } : {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: '' },
    resource: { 'service.name': service },
    scope: { name: 'test', version: '', attributes: {} },
  };
}

function log(spanId: string, atMs: number, body: string): LogRecord {
  return {
    timeUnixNano: T0 + BigInt(atMs) * MS,
    observedTimeUnixNano: 0n,
    severityNumber: 9,
    severityText: 'info',
    body,
    attributes: { key: 'greeting' },
    droppedAttributesCount: 0,
    flags: 1,
    traceId: TRACE,
    spanId: spanId.padStart(16, '0'),
    eventName: '',
    resource: { 'service.name': 'kv-plugin' },
    scope: { name: 'pino', version: '', attributes: {} },
  };
}

class Clock {
  ms = 0;
  now = () => this.ms;
}

/** The demo's shape: the host's launch span, the plugin's start span, a KV call across both. */
const HOST_SPANS = [
  span('a1', '', 'rpcplugin.plugin.launch', 'kv-host', 0, 100),
  span('c1', 'a1', 'proto.KV/Get', 'kv-host', 40, 60, 3),
];
const PLUGIN_SPANS = [
  span('b1', 'a1', 'rpcplugin.plugin.start', 'kv-plugin', 5, 30),
  span('d1', 'c1', 'proto.KV/Get', 'kv-plugin', 45, 55, 2),
];

const names = (trace: AssembledTrace) =>
  [...walk(trace.roots)].map(({ node, depth }) => `${depth}:${node.span.name}@${node.span.resource['service.name']}`);

describe('the trace model', () => {
  test('spans of two processes, arriving apart, make one tree once the root has settled', () => {
    const clock = new Clock();
    const model = new TraceModel(DEFAULT_LIMITS, clock.now);
    model.addSpans(PLUGIN_SPANS);
    model.addLogs([log('d1', 50, 'get')]);
    clock.ms = DEFAULT_LIMITS.quietMs - 1;
    assert.deepEqual(model.takeComplete(), [], 'no root yet, not quiet long enough');
    model.addSpans(HOST_SPANS);
    clock.ms += DEFAULT_LIMITS.settleMs;
    const [trace, ...others] = model.takeComplete();
    assert.equal(others.length, 0);
    assert.ok(trace);
    assert.deepEqual(names(trace), [
      '0:rpcplugin.plugin.launch@kv-host',
      '1:rpcplugin.plugin.start@kv-plugin',
      '1:proto.KV/Get@kv-host',
      '2:proto.KV/Get@kv-plugin',
    ]);
    assert.deepEqual(
      [...walk(trace.roots)].flatMap(({ node }) => node.logs.map((record) => record.body)),
      ['get'],
    );
    assert.deepEqual(model.takeComplete(), [], 'shown once');

    const text = renderTrace(trace, { width: 100, color: false });
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 6, text);
    assert.ok(
      lines.every((line) => [...line].length <= 100),
      text,
    );
    assert.match(
      lines[0] ?? '',
      /^── trace 4bf92f3577b34da6a3ce929d0e0e4736 · 4 spans · kv-host, kv-plugin · 100 ms ─+$/,
    );
    assert.match(lines[1] ?? '', /^rpcplugin\.plugin\.launch +kv-host +internal +│█{22}│ +100 ms$/);
    assert.match(lines[2] ?? '', /^├─ rpcplugin\.plugin\.start +kv-plugin +internal +│ █{6} {15}│ +25\.0 ms$/);
    assert.match(
      lines[3] ?? '',
      /^└─ proto\.KV\/Get +kv-host +client +│ {8}█{6} {8}│ +20\.0 ms grpc\.status_code=0 OK$/,
    );
    assert.match(lines[4] ?? '', /^ {3}└─ proto\.KV\/Get +kv-plugin +server +│ {9}█{4} {9}│ +10\.0 ms$/);
    assert.match(lines[5] ?? '', /^ {5,}\+50\.0 ms INFO +get +key=greeting$/);
  });

  test('the tree fits narrow terminals, and is coloured only when asked', () => {
    const model = new TraceModel({ ...DEFAULT_LIMITS, quietMs: 0, settleMs: 0 });
    model.addSpans([...HOST_SPANS, ...PLUGIN_SPANS]);
    model.addLogs([log('d1', 50, 'a long log line '.repeat(20))]);
    const [trace] = model.takeComplete();
    assert.ok(trace);
    for (const width of [40, 60, 80, 200]) {
      const text = renderTrace(trace, { width, color: false });
      for (const line of text.trimEnd().split('\n')) assert.ok([...line].length <= width, `${width}: ${line}`);
      assert.equal(text.trimEnd().split('\n').length, 6);
    }
    const coloured = renderTrace(trace, { width: 100, color: true });
    assert.ok(coloured.includes('\u001b['), 'escape codes');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the colour codes the test just asked for
    assert.equal(coloured.replace(/\u001b\[[0-9;]*m/g, ''), renderTrace(trace, { width: 100, color: false }));
  });

  test('control characters from the wire are shown escaped, and a record stays on its line', () => {
    const model = new TraceModel({ ...DEFAULT_LIMITS, quietMs: 0, settleMs: 0 });
    model.addSpans([span('a1', '', 'clear\u001b[2Jscreen', 'kv-host', 0, 10)]);
    model.addLogs([log('a1', 5, 'first line\nsecond line')]);
    const [trace] = model.takeComplete();
    assert.ok(trace);
    const text = renderTrace(trace, { width: 120, color: false });
    assert.ok(!text.includes('\u001b'), text);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 3, text);
    assert.match(lines[1] ?? '', /^clear\\x1b\[2Jscreen kv-host /);
    assert.match(lines[2] ?? '', /INFO +first line\\x0asecond line +key=greeting$/);
  });

  test('a trace without its root is shown after the quiet period; late spans show it again, marked', () => {
    const clock = new Clock();
    const model = new TraceModel(DEFAULT_LIMITS, clock.now);
    model.addSpans(PLUGIN_SPANS);
    clock.ms = DEFAULT_LIMITS.quietMs;
    const [first] = model.takeComplete();
    assert.ok(first);
    assert.equal(first.shownBefore, 0);
    assert.ok(first.roots.every((root) => root.parentMissing));
    assert.match(renderTrace(first, { width: 100, color: false }), /^↑ rpcplugin\.plugin\.start/m);
    model.addSpans(HOST_SPANS);
    clock.ms += DEFAULT_LIMITS.settleMs;
    const [again] = model.takeComplete();
    assert.ok(again);
    assert.equal(again.shownBefore, 1);
    assert.equal(again.roots.length, 1);
    assert.match(
      renderTrace(again, { width: 100, color: false }),
      /^── trace 4bf92f3577b34da6a3ce929d0e0e4736 \(updated: late arrivals\) · 4 spans/,
    );
  });

  test('parents in a cycle: every span is still shown, once', () => {
    const model = new TraceModel({ ...DEFAULT_LIMITS, quietMs: 0 });
    model.addSpans([span('e1', 'e2', 'one', 'x', 0, 1), span('e2', 'e1', 'two', 'x', 1, 2)]);
    const [trace] = model.takeComplete();
    assert.ok(trace);
    assert.deepEqual(names(trace).sort(), ['0:one@x', '1:two@x']);
  });

  test('memory is bounded: old traces evicted and counted, spans over the per-trace limit rejected', () => {
    const model = new TraceModel({ ...DEFAULT_LIMITS, maxTraces: 10, maxSpansPerTrace: 5 });
    for (let i = 0; i < 1000; i++) {
      model.addSpans([
        { ...span('1', '', 'root', 'x', 0, 1), traceId: i.toString(16).padStart(32, '0').replace(/^0/, 'f') },
      ]);
    }
    assert.equal(model.size, 10);
    assert.equal(model.evicted, 990);
    const many = Array.from({ length: 8 }, (_, i) => span(`9${i}`, '', `s${i}`, 'x', i, i + 1));
    const accepted = model.addSpans(many);
    assert.deepEqual(accepted, { rejected: 3, rejectedReason: 'a trace has more than 5 spans' });
    const invalid = model.addSpans([{ ...span('1', '', 'bad', 'x', 0, 1), traceId: '00' }]);
    assert.equal(invalid.rejected, 1);
  });
});
