/**
 * The HTML report's renderer on hand-made traces: whatever the names, attributes and log bodies hold
 * (they come from any app that exports to the viewer), they reach the page as text, never as markup;
 * an empty report is still a whole page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceModel } from '../src/viewer/model.ts';
import type { Span } from '../src/viewer/otlp-types.ts';
import { renderHtmlReport } from '../src/viewer/render-html.ts';

const HOSTILE = '<img src=x onerror="alert(1)">&\'';

function span(spanId: string, parentSpanId: string): Span {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId,
    parentSpanId,
    traceState: '',
    name: `${HOSTILE} ${spanId}`,
    kind: 2,
    flags: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_001_000_000n,
    attributes: { 'rpc.method': HOSTILE, 'rpc.grpc.status_code': 13 },
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 2, message: HOSTILE },
    resource: { 'service.name': HOSTILE },
    scope: { name: '', version: '', attributes: {} },
  };
}

test('names, attributes and bodies from the wire are escaped', () => {
  const model = new TraceModel();
  model.addSpans([span('00f067aa0ba902b7', ''), span('00f067aa0ba902b8', '00f067aa0ba902b7')]);
  model.addLogs([
    {
      timeUnixNano: 1_700_000_000_000_500_000n,
      observedTimeUnixNano: 0n,
      severityNumber: 17,
      severityText: HOSTILE,
      body: HOSTILE,
      attributes: { [HOSTILE]: HOSTILE },
      droppedAttributesCount: 0,
      flags: 1,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b8',
      eventName: '',
      resource: { 'service.name': HOSTILE },
      scope: { name: '', version: '', attributes: {} },
    },
  ]);
  const page = renderHtmlReport({ traces: model.all(), logs: [], evictedTraces: 3, generatedAt: new Date(0) });
  assert.doesNotMatch(page, /<img/);
  assert.doesNotMatch(page, /onerror="/);
  assert.ok(page.includes('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39; 00f067aa0ba902b8'));
  assert.match(page, /data-parent-span-id="00f067aa0ba902b7" data-depth="1"/);
  assert.match(page, /3 older traces were evicted/);
});

test('an empty report is a whole page', () => {
  const page = renderHtmlReport({ traces: [], logs: [], evictedTraces: 0, generatedAt: new Date(0) });
  assert.match(page, /^<!doctype html>\n<html lang="en">/);
  assert.match(page, /<\/body><\/html>\n$/);
  assert.match(page, /0 traces, 0 spans, written 1970-01-01T00:00:00\.000Z\./);
  assert.match(page, /No RPC spans received\./);
  assert.match(page, /No log records received\./);
});
