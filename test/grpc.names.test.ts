/**
 * How names and addresses are read, table-driven: server.address and server.port from a channel
 * target (the gRPC conventions' examples among them) and from an `:authority`; service and method
 * from a gRPC path; the grpc-js versions the agent accepts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { endpointOfAuthority, parseTarget } from '../src/agent/grpc/endpoint.ts';
import { isSupportedVersion } from '../src/agent/grpc/locate.ts';
import { parsePath } from '../src/agent/grpc/method.ts';

describe('server.address and server.port from a channel target (what Channel.getTarget() returns)', () => {
  const cases: readonly [string, string, number | undefined][] = [
    // The conventions' own examples (docs/rpc/grpc.md, server.address).
    ['dns:grpc.io:50051', 'grpc.io', 50051],
    ['dns://1.2.3.4/grpc.io:50051', 'grpc.io', 50051],
    ['unix:///run/containerd/containerd.sock', '/run/containerd/containerd.sock', undefined],
    ['zk://zookeeper:2181/my-server', 'zk://zookeeper:2181/my-server', undefined],
    ['ipv4:198.51.100.123:50051,198.51.100.124:50051', 'ipv4:198.51.100.123:50051,198.51.100.124:50051', undefined],
    // grpc-js's spellings of what apps pass (127.0.0.1:50051 becomes dns:127.0.0.1:50051).
    ['dns:127.0.0.1:50051', '127.0.0.1', 50051],
    ['dns:///localhost:5', 'localhost', 5],
    ['dns:localhost', 'localhost', 443],
    ['dns:[::1]:50051', '::1', 50051],
    ['dns:[::1]', '::1', 443],
    ['unix:/tmp/plugin.sock', '/tmp/plugin.sock', undefined],
    ['unix:relative.sock', 'relative.sock', undefined],
    ['ipv4:10.0.0.1:7000', '10.0.0.1', 7000],
    ['ipv6:[2001:db8::1]:7000', '2001:db8::1', 7000],
    ['localhost:50051', 'localhost', 50051],
    ['dns:host:99999', 'dns:host:99999', undefined],
    ['dns://resolver', 'dns://resolver', undefined],
  ];
  for (const [target, address, port] of cases) {
    test(`${target} → ${address}${port === undefined ? '' : ` : ${port}`}`, () => {
      assert.deepEqual(parseTarget(target), { address, port });
    });
  }
});

describe('server.address and server.port from the :authority a client sent', () => {
  const cases: readonly [string, string, number | undefined][] = [
    ['127.0.0.1:50051', '127.0.0.1', 50051],
    ['localhost', 'localhost', undefined],
    ['[::1]:8080', '::1', 8080],
    ['example.com:x', 'example.com:x', undefined],
  ];
  for (const [authority, address, port] of cases) {
    test(`${authority} → ${address}${port === undefined ? '' : ` : ${port}`}`, () => {
      assert.deepEqual(endpointOfAuthority(authority), { address, port });
    });
  }
  test('the same authority gives the same object (interned: one map lookup per call)', () => {
    assert.equal(endpointOfAuthority('10.1.2.3:9'), endpointOfAuthority('10.1.2.3:9'));
  });
});

describe('service and method from a gRPC path', () => {
  const cases: readonly [string, { service: string; method: string } | undefined][] = [
    ['/proto.KV/Get', { service: 'proto.KV', method: 'Get' }],
    ['/EchoService/Echo', { service: 'EchoService', method: 'Echo' }],
    ['proto.KV/Get', undefined],
    ['/proto.KV/', undefined],
    ['//Get', undefined],
    ['/a/b/c', undefined],
    ['/only', undefined],
  ];
  for (const [path, expected] of cases) {
    test(`${path} → ${expected === undefined ? 'not a method path' : `${expected.service} ${expected.method}`}`, () => {
      assert.deepEqual(parsePath(path), expected);
    });
  }
});

describe('supported @grpc/grpc-js versions: >=1.8.0 <2.0.0', () => {
  const cases: readonly [string, boolean][] = [
    ['1.8.0', true],
    ['1.8.22', true],
    ['1.14.7', true],
    ['1.99.0-pre.1', true],
    ['1.7.3', false],
    ['2.0.0', false],
    ['0.9.0', false],
    ['unknown', false],
  ];
  for (const [version, supported] of cases) {
    test(`${version}: ${supported ? 'instrumented' : 'left alone, with one warning'}`, () => {
      assert.equal(isSupportedVersion(version), supported);
    });
  }
});
