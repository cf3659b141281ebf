/**
 * The telemetry the KV app (test/fixtures/grpc/kv.cjs) must produce, step by step: which spans,
 * with which attributes, status, parent and exception; which metric points. Written out in full so
 * that every runtime, module format, grpc-js version and convention setting is held to the same,
 * exact contract.
 */
import assert from 'node:assert/strict';
import { attributeKey, type KvRun, lastMetric, pointsByAttributes, spanOf, stepOf } from './grpc.ts';
import type { Attributes, ReceivedMetric, ReceivedSpan } from './otlp-receiver.ts';
import { AggregationTemporality, SpanKind, StatusCode } from './otlp-receiver.ts';

export type Conventions = 'old' | 'stable' | 'dup';

interface Step {
  readonly step: string;
  readonly service: string;
  readonly method: string;
  /** The status the client sees. */
  readonly client: number;
  /** The status the server sends; undefined when no handler ran (the method is not registered). */
  readonly server: number | undefined;
  /**
   * Another status the server may end with. A deadline: the client resets the stream when its own
   * deadline passes; when that reaches the server before the server's timer fires (it starts a bit
   * later, when the request arrives, so on a loaded machine it can), the server sees a cancellation.
   */
  readonly orServer?: number;
  /** The step whose server span is this call's parent (calls made while handling a call). */
  readonly parent?: string;
}

const KV = 'proto.KV';
const STREAMS = 'proto.KVStreams';

export const STEPS: readonly Step[] = [
  { step: 'put', service: KV, method: 'Put', client: 0, server: 0 },
  { step: 'get', service: KV, method: 'Get', client: 0, server: 0 },
  { step: 'missing', service: KV, method: 'Get', client: 5, server: 5 },
  { step: 'boom', service: KV, method: 'Get', client: 2, server: 2 },
  { step: 'deadline', service: KV, method: 'Get', client: 4, server: 4, orServer: 1 },
  { step: 'cancel', service: KV, method: 'Get', client: 1, server: 1 },
  { step: 'chain', service: KV, method: 'Get', client: 0, server: 0 },
  { step: 'chain-put', service: KV, method: 'Put', client: 0, server: 0, parent: 'chain' },
  { step: 'watch', service: KV, method: 'Watch', client: 0, server: 0 },
  { step: 'watch-fail', service: KV, method: 'Watch', client: 10, server: 10 },
  { step: 'watch-cancel', service: KV, method: 'Watch', client: 1, server: 1 },
  { step: 'put-many', service: STREAMS, method: 'PutMany', client: 0, server: 0 },
  { step: 'exchange', service: STREAMS, method: 'Exchange', client: 0, server: 0 },
  { step: 'exchange-get', service: KV, method: 'Get', client: 0, server: 0, parent: 'exchange' },
  { step: 'unknown', service: KV, method: 'Delete', client: 12, server: undefined },
  { step: 'before-callback', service: KV, method: 'Get', client: 0, server: 0 },
  { step: 'in-callback', service: KV, method: 'Put', client: 0, server: 0 },
];

const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The gRPC conventions' span status table: every non-OK code is a client error, six are server errors. */
const SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);
const isError = (side: 'client' | 'server', code: number) =>
  code !== 0 && (side === 'client' || SERVER_ERRORS.has(code));

/** The client's view of each error (grpc-js's messages); the server's is the status it sent. */
const CLIENT_MESSAGES: Readonly<Record<string, RegExp>> = {
  missing: /^NOT_FOUND: no such key$/,
  boom: /^UNKNOWN: boom$/,
  deadline: /^DEADLINE_EXCEEDED: Deadline exceeded/,
  cancel: /^CANCELLED: Cancelled on client$/,
  'watch-fail': /^ABORTED: watch aborted$/,
  'watch-cancel': /^CANCELLED: Cancelled on client$/,
  unknown: /^UNIMPLEMENTED: The server does not implement the method \/proto\.KV\/Delete$/,
};
const SERVER_MESSAGES: Readonly<Record<string, string>> = {
  boom: 'UNKNOWN: boom',
  deadline: 'DEADLINE_EXCEEDED: Deadline exceeded',
};

function fullMethod(step: Step): string {
  return `${step.service}/${step.method}`;
}

/** The exact span attributes of one side of a step. */
function spanAttributes(
  step: Step,
  side: 'client' | 'server',
  code: number,
  port: number,
  conventions: Conventions,
  captured: boolean,
): Attributes {
  const name = STATUS_NAMES[code] as string;
  const old = conventions !== 'stable';
  const stable = conventions !== 'old';
  const attributes: Attributes = { 'server.address': '127.0.0.1', 'server.port': port };
  if (old) {
    Object.assign(attributes, {
      'rpc.system': 'grpc',
      'rpc.service': step.service,
      'rpc.method': step.method,
      'rpc.grpc.status_code': code,
    });
  }
  if (stable) {
    // Under rpc/dup the stable rpc.method wins the clash of names.
    Object.assign(attributes, { 'rpc.system.name': 'grpc', 'rpc.method': fullMethod(step), 'rpc.status_code': name });
    if (isError(side, code)) attributes['error.type'] = name;
  }
  if (captured) {
    const metadata: Record<string, string[]> = { 'x-call': [step.step] };
    if (step.step === 'put' || step.step === 'get') {
      metadata.authorization = ['[redacted]'];
      metadata['x-tenant'] = ['kv-team'];
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (old) attributes[`rpc.grpc.request.metadata.${key}`] = value;
      if (stable) attributes[`rpc.request.header.${key}`] = value;
    }
  }
  return attributes;
}

/**
 * Every span of the KV run, exactly: one client and one server span per call (none twice, none
 * missing), names, kinds, attributes, parents, status and exceptions.
 */
export function assertKvSpans(run: KvRun, conventions: Conventions, captured = true): void {
  const { spans } = run;
  const context = `${run.result.command}\n${spans.map((span) => `${span.kind} ${span.name} ${stepOf(span)}`).join('\n')}`;
  const expectedCount = STEPS.reduce((count, step) => count + (step.server === undefined ? 1 : 2), 0);
  assert.equal(spans.length, expectedCount, `span count\n${context}`);
  const port = spans[0]?.attributes['server.port'];
  assert.equal(typeof port, 'number', context);

  const servers = new Map<string, ReceivedSpan>();
  for (const step of STEPS) {
    if (step.server !== undefined) servers.set(step.step, spanOf(spans, SpanKind.SERVER, step.step));
  }
  for (const step of STEPS) {
    const client = spanOf(spans, SpanKind.CLIENT, step.step);
    const where = `${step.step} (client)\n${context}`;
    assert.equal(client.name, fullMethod(step), where);
    assert.equal(client.parentSpanId, step.parent ? servers.get(step.parent)?.spanId : '', where);
    if (step.parent) assert.equal(client.traceId, servers.get(step.parent)?.traceId, where);
    assert.deepEqual(
      client.attributes,
      spanAttributes(step, 'client', step.client, port as number, conventions, captured),
    );
    assert.ok(client.endTimeUnixNano >= client.startTimeUnixNano, where);
    if (isError('client', step.client)) {
      assert.equal(client.status.code, StatusCode.ERROR, where);
      assert.match(client.status.message, CLIENT_MESSAGES[step.step] as RegExp, where);
      assert.deepEqual(
        client.events.map((event) => [event.name, event.attributes['exception.type']]),
        [['exception', 'Error']],
        where,
      );
      const message = String(client.events[0]?.attributes['exception.message']);
      assert.ok(message.startsWith(`${step.client} ${STATUS_NAMES[step.client]}: `), `${message}\n${where}`);
    } else {
      assert.deepEqual(client.status, { code: StatusCode.UNSET, message: '' }, where);
      assert.deepEqual(client.events, [], where);
    }
    if (step.step === 'deadline') {
      const milliseconds = Number(client.endTimeUnixNano - client.startTimeUnixNano) / 1e6;
      assert.ok(milliseconds >= 140, `the deadline call lasted ${milliseconds} ms\n${where}`);
    }

    const server = servers.get(step.step);
    if (server === undefined || step.server === undefined) continue;
    const serverCode = serverCodeOf(step, server);
    const serverWhere = `${step.step} (server)\n${context}`;
    assert.equal(server.name, fullMethod(step), serverWhere);
    assert.equal(server.traceId, client.traceId, serverWhere);
    assert.equal(server.parentSpanId, client.spanId, serverWhere);
    assert.deepEqual(
      server.attributes,
      spanAttributes(step, 'server', serverCode, port as number, conventions, captured),
    );
    assert.ok(server.endTimeUnixNano >= server.startTimeUnixNano, serverWhere);
    if (isError('server', serverCode)) {
      assert.deepEqual(server.status, { code: StatusCode.ERROR, message: SERVER_MESSAGES[step.step] }, serverWhere);
    } else {
      assert.deepEqual(server.status, { code: StatusCode.UNSET, message: '' }, serverWhere);
    }
    // The handler's own error is the recorded exception; a status grpc-js made up (a deadline) has none.
    const exceptions = server.events.map((event) => [event.name, event.attributes['exception.message']]);
    assert.deepEqual(exceptions, step.step === 'boom' ? [['exception', 'boom']] : [], serverWhere);
  }
}

/** The status a server span reports: the step's, or its accepted alternative. */
function serverCodeOf(step: Step, span: ReceivedSpan): number {
  const code =
    span.attributes['rpc.grpc.status_code'] ?? STATUS_NAMES.indexOf(String(span.attributes['rpc.status_code']));
  const accepted = [step.server, step.orServer].filter((candidate) => candidate !== undefined);
  assert.ok(
    accepted.includes(code as number),
    `${step.step}: the server span ended with ${code}, not ${accepted.join(' or ')}`,
  );
  return code as number;
}

/** Calls per (method, status) on one side, as the duration histograms must count them. */
function expectedCalls(
  side: 'client' | 'server',
  serverCodes: ReadonlyMap<string, number>,
): Map<string, { step: Step; code: number; count: number }> {
  const calls = new Map<string, { step: Step; code: number; count: number }>();
  for (const step of STEPS) {
    const code = side === 'client' ? step.client : (serverCodes.get(step.step) ?? 12);
    const shown =
      side === 'server' && step.server === undefined ? { ...step, service: '_OTHER', method: '_OTHER' } : step;
    const key = `${fullMethod(shown)} ${code}`;
    const entry = calls.get(key) ?? { step: shown, code, count: 0 };
    entry.count++;
    calls.set(key, entry);
  }
  return calls;
}

function metricAttributes(step: Step, side: 'client' | 'server', code: number, stable: boolean): Attributes {
  if (!stable) {
    return {
      'rpc.system': 'grpc',
      'rpc.service': step.service,
      'rpc.method': step.method,
      'rpc.grpc.status_code': code,
    };
  }
  const name = STATUS_NAMES[code] as string;
  const method = step.service === '_OTHER' ? '_OTHER' : fullMethod(step);
  const attributes: Attributes = { 'rpc.system.name': 'grpc', 'rpc.method': method, 'rpc.status_code': name };
  if (isError(side, code)) attributes['error.type'] = name;
  return attributes;
}

function assertDuration(
  metrics: readonly ReceivedMetric[],
  side: 'client' | 'server',
  stable: boolean,
  serverCodes: ReadonlyMap<string, number>,
): void {
  const name = stable ? `rpc.${side}.call.duration` : `rpc.${side}.duration`;
  const metric = lastMetric(metrics, name);
  assert.equal(metric.type, 'histogram', name);
  assert.equal(metric.unit, stable ? 's' : 'ms', name);
  assert.equal(metric.temporality, AggregationTemporality.CUMULATIVE, name);
  const expected = new Map<string, number>();
  for (const { step, code, count } of expectedCalls(side, serverCodes).values()) {
    expected.set(attributeKey(metricAttributes(step, side, code, stable)), count);
  }
  const actual = new Map([...pointsByAttributes(metric)].map(([key, point]) => [key, point.count]));
  assert.deepEqual(
    [...actual].sort(),
    [...expected].sort(),
    `${name}: calls per method and status (no ports, peers or ids)`,
  );
  if (stable) {
    const bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    for (const point of metric.dataPoints) assert.deepEqual(point.explicitBounds, bounds, `${name} buckets`);
  }
  for (const point of metric.dataPoints) assert.ok((point.sum ?? -1) >= 0, `${name} sum`);
}

function assertActiveCalls(metrics: readonly ReceivedMetric[], side: 'client' | 'server', stable: boolean): void {
  const name = `rpc.${side}.active_calls`;
  const metric = lastMetric(metrics, name);
  assert.equal(metric.type, 'sum', name);
  assert.equal(metric.isMonotonic, false, name);
  assert.equal(metric.unit, '{call}', name);
  const methods = new Map<string, Step>();
  // Calls the server never handled are not counted as active: they are answered at once.
  for (const step of STEPS) if (side === 'client' || step.server !== undefined) methods.set(fullMethod(step), step);
  const expected = [...methods.values()].map((step) => {
    const attributes: Attributes = stable
      ? { 'rpc.system.name': 'grpc', 'rpc.method': fullMethod(step) }
      : { 'rpc.system': 'grpc', 'rpc.service': step.service, 'rpc.method': step.method };
    return [attributeKey(attributes), 0];
  });
  const actual = metric.dataPoints.map((point) => [attributeKey(point.attributes), point.value]);
  assert.deepEqual(actual.sort(), expected.sort(), `${name}: every call has ended`);
}

/** Messages per RPC (old conventions): counted for the streaming methods only. */
function assertMessagesPerRpc(metrics: readonly ReceivedMetric[], side: 'client' | 'server'): void {
  const watch = (code: number) => ({ service: KV, method: 'Watch', code });
  // [method, status, requests, responses]; the cancelled watch sends as many as it can before the
  // cancellation arrives: at least one.
  const expected: [ReturnType<typeof watch>, number, number | 'some'][] = [
    [watch(0), 1, 3],
    [watch(10), 1, 1],
    [watch(1), 1, 'some'],
    [{ service: STREAMS, method: 'PutMany', code: 0 }, 3, 1],
    [{ service: STREAMS, method: 'Exchange', code: 0 }, 2, 2],
  ];
  for (const [kind, index] of [
    ['requests', 1],
    ['responses', 2],
  ] as const) {
    const name = `rpc.${side}.${kind}_per_rpc`;
    const metric = lastMetric(metrics, name);
    assert.equal(metric.type, 'histogram', name);
    assert.equal(metric.unit, '{count}', name);
    const points = pointsByAttributes(metric);
    assert.equal(points.size, expected.length, `${name}: one point per streaming method and status`);
    for (const entry of expected) {
      const { service, method, code } = entry[0];
      const key = attributeKey({
        'rpc.system': 'grpc',
        'rpc.service': service,
        'rpc.method': method,
        'rpc.grpc.status_code': code,
      });
      const point = points.get(key);
      assert.ok(point, `${name}: no point for ${key}`);
      assert.equal(point.count, 1, `${name} ${key}`);
      const messages = entry[index];
      if (messages === 'some') assert.ok((point.sum ?? 0) >= 1, `${name} ${key}: ${point.sum}`);
      else assert.equal(point.sum, messages, `${name} ${key}`);
    }
  }
}

/** Every metric of the KV run: names and units of the conventions in force, points exactly. */
export function assertKvMetrics(run: KvRun, conventions: Conventions): void {
  // The status each server span ended with (checked by assertKvSpans), which the metrics must match.
  const serverCodes = new Map<string, number>();
  for (const step of STEPS) {
    if (step.server === undefined) continue;
    serverCodes.set(step.step, serverCodeOf(step, spanOf(run.spans, SpanKind.SERVER, step.step)));
  }
  const names = [...new Set(run.metrics.map((metric) => metric.name))].sort();
  const expectedNames = [
    'rpc.client.active_calls',
    'rpc.server.active_calls',
    ...(conventions !== 'stable'
      ? [
          'rpc.client.duration',
          'rpc.server.duration',
          'rpc.client.requests_per_rpc',
          'rpc.client.responses_per_rpc',
          'rpc.server.requests_per_rpc',
          'rpc.server.responses_per_rpc',
        ]
      : []),
    ...(conventions !== 'old' ? ['rpc.client.call.duration', 'rpc.server.call.duration'] : []),
  ].sort();
  assert.deepEqual(names, expectedNames, run.result.command);
  for (const side of ['client', 'server'] as const) {
    if (conventions !== 'stable') {
      assertDuration(run.metrics, side, false, serverCodes);
      assertMessagesPerRpc(run.metrics, side);
    }
    if (conventions !== 'old') assertDuration(run.metrics, side, true, serverCodes);
    assertActiveCalls(run.metrics, side, conventions !== 'old');
  }
}
