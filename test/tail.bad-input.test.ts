/**
 * Bad input never takes `rpcplugin-telemetry tail` down: malformed protobuf and JSON (400 with a
 * google.rpc.Status in the request's encoding), another media type (415), bodies over the limit,
 * before or after gzip (413), other paths and methods (404, 405), rejected items (200 with partial
 * success), thousands of traces (bounded, evictions counted), a busy port and bad flags (one clear
 * message, a non-zero exit). After all of it the viewer still shows a good trace.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ExportTraceServiceRequest } from './support/otlp-reference.ts';
import { spawnCollect } from './support/runtimes.ts';
import { CLI, type RunningTail, startTail } from './support/tail-cli.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function jsonTrace(spans: { traceId: string; spanId: string; name: string }[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bad-input-test' } }] },
        scopeSpans: [
          {
            spans: spans.map((span) => ({
              ...span,
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000005000000',
            })),
          },
        ],
      },
    ],
  });
}

/** The bytes of `varint` value (small values only, as in these answers). */
const varint = (value: number) => (value < 0x80 ? [value] : [(value & 0x7f) | 0x80, value >> 7]);

describe('tail answers bad requests as OTLP says, and carries on', () => {
  let tail: RunningTail;
  const post = (path: string, body: string | Uint8Array, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${tail.port}${path}`, { method: 'POST', body, headers });

  before(async () => {
    tail = await startTail(['--quiet-ms', '100']);
  });
  after(() => tail.stop());

  test('malformed protobuf: 400, a Status in protobuf (INVALID_ARGUMENT and why)', async () => {
    const response = await post('/v1/traces', Uint8Array.of(0x0a, 0xff, 0xff, 0x01), {
      'Content-Type': 'application/x-protobuf',
    });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/x-protobuf');
    const body = new Uint8Array(await response.arrayBuffer());
    const message = 'invalid protobuf at byte 4: truncated: 32767 byte(s) needed, 0 left';
    assert.deepEqual([...body], [0x08, 3, 0x12, ...varint(message.length), ...Buffer.from(message)]);
  });

  test('malformed JSON: 400, a Status in JSON', async () => {
    const response = await post('/v1/logs', '{"resourceLogs": [', { 'Content-Type': 'application/json' });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const status = (await response.json()) as { code: number; message: string };
    assert.equal(status.code, 3);
    assert.match(status.message, /^invalid JSON: /);
    const wrongShape = await post('/v1/traces', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":42}]}]}]}', {
      'Content-Type': 'application/json',
    });
    assert.equal(wrongShape.status, 400);
    assert.deepEqual(await wrongShape.json(), {
      code: 3,
      message: 'resourceSpans[0].scopeSpans[0].spans[0].traceId: a string is expected',
    });
  });

  test('another media type or encoding: 415; another path: 404; another method: 405', async () => {
    const text = await post('/v1/traces', 'hello', { 'Content-Type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal(
      await text.text(),
      'unsupported content type "text/plain"; use application/x-protobuf or application/json\n',
    );
    const brotli = await post('/v1/traces', '{}', { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
    assert.equal(brotli.status, 415);
    const path = await post('/v1/profiles', '{}', { 'Content-Type': 'application/json' });
    assert.equal(path.status, 404);
    const get = await fetch(`http://127.0.0.1:${tail.port}/v1/traces`);
    assert.equal(get.status, 405);
  });

  test('over the 20 MiB limit: 413, as sent and after gunzip', async () => {
    const large = new Uint8Array(20 * 1024 * 1024 + 1);
    const sent = await post('/v1/traces', large, { 'Content-Type': 'application/x-protobuf' });
    assert.equal(sent.status, 413);
    assert.deepEqual(await sent.json().catch(() => null), null, 'a protobuf Status, not JSON');
    const bomb = gzipSync(Buffer.alloc(25 * 1024 * 1024, 0x20));
    assert.ok(bomb.length < 100_000);
    const inflated = await post('/v1/metrics', bomb, {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    assert.equal(inflated.status, 413);
    assert.deepEqual(await inflated.json(), {
      code: 8,
      message: 'the decompressed body is larger than the limit of 20971520 bytes',
    });
  });

  test('a span with an invalid id is rejected alone: 200 with partial success, in JSON and protobuf', async () => {
    const body = jsonTrace([
      { traceId: TRACE_ID, spanId: '00f067aa0ba902b7', name: 'kept' },
      { traceId: '', spanId: '00f067aa0ba902b8', name: 'no trace id' },
    ]);
    const json = await post('/v1/traces', gzipSync(body), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    assert.equal(json.status, 200);
    assert.deepEqual(await json.json(), {
      partialSuccess: { rejectedSpans: '1', errorMessage: 'a span has an invalid trace or span id' },
    });
    const ok = await post(
      '/v1/traces',
      jsonTrace([{ traceId: TRACE_ID, spanId: '00f067aa0ba902b9', name: 'kept too' }]),
      {
        'Content-Type': 'application/json',
      },
    );
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '{}');
    const wire = ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject({
        resourceSpans: [
          { scopeSpans: [{ spans: [{ traceId: Buffer.from('abc'), spanId: Buffer.alloc(8, 1), name: 'short id' }] }] },
        ],
      }),
    ).finish();
    const protobuf = await post('/v1/traces', wire, { 'Content-Type': 'application/x-protobuf' });
    assert.equal(protobuf.status, 200);
    const reason = Buffer.from('a span has an invalid trace or span id');
    // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1) = 1, error_message (2) } }
    assert.deepEqual(
      [...new Uint8Array(await protobuf.arrayBuffer())],
      [0x0a, 4 + reason.length, 0x08, 1, 0x12, reason.length, ...reason],
    );
    // An empty ExportTraceServiceRequest in protobuf: an empty ExportTraceServiceResponse.
    const empty = await post('/v1/traces', new Uint8Array(0), { 'Content-Type': 'application/x-protobuf' });
    assert.equal(empty.status, 200);
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
  });

  test('after all that, the good trace is shown and the refusals were reported on stderr', async () => {
    const result = await tail.stop();
    const stdout = result.stdout.toString('utf8');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(stdout, new RegExp(`^── trace ${TRACE_ID} · 2 spans · bad-input-test · 5\\.00 ms`, 'm'), stdout);
    assert.match(stdout, /^kept +bad-input-test +server /m);
    assert.match(stdout, /^kept too +bad-input-test +server /m);
    assert.match(result.stderr, /^rpcplugin-telemetry: tail: refused a request \(400\): invalid protobuf at byte 4/m);
    assert.match(
      result.stderr,
      /^rpcplugin-telemetry: tail: refused a request \(415\): unsupported content type "text\/plain"/m,
    );
    assert.match(result.stderr, /^rpcplugin-telemetry: tail: refused a request \(413\): the request body is larger/m);
    assert.match(result.stderr, /; refused \d+ requests$/m);
  });
});

describe('tail under load and misuse', () => {
  test('5000 traces with --max-traces 100: 100 kept and shown, 4900 evicted and counted', async () => {
    const tail = await startTail(['--max-traces', '100']);
    const spans = Array.from({ length: 5000 }, (_, i) => ({
      traceId: (i + 1).toString(16).padStart(32, '0'),
      spanId: '00f067aa0ba902b7',
      name: `call ${i}`,
    }));
    const response = await fetch(`http://127.0.0.1:${tail.port}/v1/traces`, {
      method: 'POST',
      body: jsonTrace(spans),
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(response.status, 200);
    const result = await tail.stop();
    const stdout = result.stdout.toString('utf8');
    assert.equal(stdout.match(/^── trace /gm)?.length, 100, stdout.slice(0, 2000));
    assert.match(stdout, /^call 4999 /m, 'the newest are kept');
    assert.doesNotMatch(stdout, /^call 4899 /m, 'the oldest are evicted');
    assert.match(stdout, /^\(4900 older traces evicted so far: at most 100 are kept; --max-traces\)$/m);
    assert.match(
      result.stderr,
      /^rpcplugin-telemetry: tail: received 5000 spans, 0 log records, 0 metric exports; evicted 4900 traces$/m,
    );
  });

  test('a busy port: one message naming the port and --port, exit code 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const result = await spawnCollect(process.execPath, [CLI, 'tail', '--host', '127.0.0.1', '--port', String(port)]);
      assert.equal(result.exitCode, 1);
      assert.equal(result.stdout.length, 0);
      assert.equal(
        result.stderr,
        `rpcplugin-telemetry: tail: port ${port} on 127.0.0.1 is already in use (another collector, or another tail?). ` +
          `Pick another port with --port, e.g. --port ${port + 1}, and point the app at it with ` +
          `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:${port + 1}\n`,
      );
    } finally {
      busy.close();
    }
  });

  test('bad flags: the reason and the usage on stderr, exit code 2', async () => {
    const cases: [string[], string][] = [
      [['--port', 'abc'], '--port takes an integer from 0 to 65535, not "abc"'],
      [['--filter', 'colour=blue'], '--filter key "colour" is not one of service, name'],
      [['--exit-after', '0'], '--exit-after takes a number of seconds above 0, not "0"'],
      [['--verbose'], 'unknown option for tail: --verbose'],
    ];
    for (const [args, message] of cases) {
      const result = await spawnCollect(process.execPath, [CLI, 'tail', ...args]);
      assert.equal(result.exitCode, 2, result.stderr);
      assert.ok(
        result.stderr.startsWith(`rpcplugin-telemetry: tail: ${message}\n\nUsage: rpcplugin-telemetry tail`),
        result.stderr,
      );
    }
    const help = await spawnCollect(process.execPath, [CLI, 'tail', '--help']);
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout.toString('utf8'), /^Usage: rpcplugin-telemetry tail \[options\]/);
  });
});
