/**
 * Which stdout lines are go-plugin handshake lines, and what is read from them
 * (src/agent/go-plugin/handshake-line.ts; the format is hashicorp/go-plugin server.go's).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Handshake, parseHandshakeLine } from '../src/agent/go-plugin/handshake-line.ts';

const TCP: Handshake = {
  coreProtocolVersion: 1,
  appProtocolVersion: 1,
  transport: 'tcp',
  protocol: 'grpc',
  tls: false,
  multiplex: false,
};

const HANDSHAKES: readonly [string, Handshake][] = [
  ['1|1|tcp|127.0.0.1:1234|grpc', TCP],
  ['1|6|unix|/tmp/plugin1/plugin.sock|grpc', { ...TCP, appProtocolVersion: 6, transport: 'unix' }],
  ['1|1|tcp|127.0.0.1:1234|netrpc', { ...TCP, protocol: 'netrpc' }],
  ['1|1|tcp|127.0.0.1:1234|grpc|MIIBkTCB', { ...TCP, tls: true }],
  ['1|1|tcp|127.0.0.1:1234|grpc||true', { ...TCP, multiplex: true }],
  ['1|1|tcp|127.0.0.1:1234|grpc|MIIBkTCB|true', { ...TCP, tls: true, multiplex: true }],
  ['1|1|tcp|127.0.0.1:1234|grpc|MIIBkTCB|false', { ...TCP, tls: true }],
  // go-plugin's client trims the line: a CRLF or surrounding blanks do not make it another line.
  ['  1|1|tcp|127.0.0.1:1234|grpc\r', TCP],
];

const NOT_HANDSHAKES: readonly string[] = [
  '',
  'starting up',
  '1|1|tcp|127.0.0.1:1234',
  '1|1|tcp|127.0.0.1:1234|grpc|cert|true|extra',
  'v1|1|tcp|127.0.0.1:1234|grpc',
  '1|x|tcp|127.0.0.1:1234|grpc',
  '1|1|udp|127.0.0.1:1234|grpc',
  '1|1|tcp||grpc',
  '1|1|tcp|127.0.0.1:1234|',
  '{"@level":"info","@message":"1|1|tcp|127.0.0.1:1234|grpc"}',
];

for (const [line, expected] of HANDSHAKES) {
  test(`handshake: ${JSON.stringify(line)}`, () => {
    assert.deepEqual(parseHandshakeLine(line), expected);
  });
}

for (const line of NOT_HANDSHAKES) {
  test(`not a handshake: ${JSON.stringify(line)}`, () => {
    assert.equal(parseHandshakeLine(line), undefined);
  });
}
