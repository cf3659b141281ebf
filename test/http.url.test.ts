/**
 * url.full as the HTTP conventions want it recorded (src/agent/http/url.ts), and the origin each
 * span's server.address, server.port and url.scheme come from; methods as the conventions name them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorType, methodName } from '../src/agent/http/semconv.ts';
import { originOf, redactUrl } from '../src/agent/http/url.ts';

describe('url.full redaction', () => {
  const cases: [string, string][] = [
    ['http://127.0.0.1:8080/ok', 'http://127.0.0.1:8080/ok'],
    ['https://user:pass@example.com/a', 'https://REDACTED:REDACTED@example.com/a'],
    ['https://user@example.com/a', 'https://REDACTED:REDACTED@example.com/a'],
    ['https://example.com/a?b=1#x@y', 'https://example.com/a?b=1#x@y'],
    ['https://example.com/p@th?q=1', 'https://example.com/p@th?q=1'],
    ['https://example.com/?sig=abc&page=2', 'https://example.com/?sig=REDACTED&page=2'],
    [
      'https://s3.example.com/o?AWSAccessKeyId=AKIA&Signature=zz%3D&Expires=1',
      'https://s3.example.com/o?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1',
    ],
    [
      'https://storage.example.com/o?X-Goog-Signature=f00#frag',
      'https://storage.example.com/o?X-Goog-Signature=REDACTED#frag',
    ],
    // Keys are case-sensitive, as the conventions list them; a key without a value has nothing to hide.
    ['https://example.com/?SIG=abc&sig', 'https://example.com/?SIG=abc&sig'],
    ['https://u:p@example.com:8443/x?sig=1', 'https://REDACTED:REDACTED@example.com:8443/x?sig=REDACTED'],
  ];
  for (const [url, recorded] of cases) {
    test(url, () => assert.equal(redactUrl(url), recorded));
  }
});

test('origins: address, port (the scheme default when none) and scheme', () => {
  assert.deepEqual(originOf('http://127.0.0.1:8080'), { scheme: 'http', address: '127.0.0.1', port: 8080 });
  assert.deepEqual(originOf('https://example.com'), { scheme: 'https', address: 'example.com', port: 443 });
  assert.deepEqual(originOf('http://[::1]:9000'), { scheme: 'http', address: '::1', port: 9000 });
  assert.deepEqual(originOf('http://example.com'), { scheme: 'http', address: 'example.com', port: 80 });
});

test('methods: the known ones as sent, anything else _OTHER with the original kept', () => {
  assert.deepEqual(methodName('GET'), { value: 'GET', spanName: 'GET', original: undefined });
  assert.deepEqual(methodName('PATCH'), { value: 'PATCH', spanName: 'PATCH', original: undefined });
  assert.deepEqual(methodName('get'), { value: '_OTHER', spanName: 'HTTP', original: 'get' });
  assert.deepEqual(methodName('PURGE'), { value: '_OTHER', spanName: 'HTTP', original: 'PURGE' });
});

test('error.type: the code, also in a cause; else the name; else _OTHER', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(errorType(refused), 'ECONNREFUSED');
  assert.equal(errorType(new TypeError('fetch failed', { cause: refused })), 'ECONNREFUSED');
  assert.equal(errorType(new DOMException('timed out', 'TimeoutError')), 'TimeoutError');
  assert.equal(errorType('a string'), '_OTHER');
  assert.equal(errorType(null), '_OTHER');
});
