/**
 * server.address and server.port, from what the app configured rather than from the connection
 * (the gRPC conventions: low cardinality, no reverse DNS). Client side: the channel's target string,
 * read per the gRPC Name Resolution rules (https://grpc.github.io/grpc/core/md_doc_naming.html).
 * Server side: the `:authority` the client sent. Parsed once per distinct string and interned, so a
 * call costs one map lookup.
 */
import type { Endpoint } from './method.ts';

/** grpc-js's port when a dns target names none. */
const DEFAULT_PORT = 443;
const MAX_INTERNED = 256;

const targets = new Map<string, Endpoint>();
const authorities = new Map<string, Endpoint>();

/** The endpoint of a client channel target: `dns:host:port`, `host:port`, `unix:/path`, `ipv4:a:p`… */
export function endpointOfTarget(target: string): Endpoint {
  return intern(targets, target, parseTarget);
}

/** The endpoint of an HTTP/2 `:authority` (`host:port`, `[v6]:port`, `host`). */
export function endpointOfAuthority(authority: string): Endpoint {
  return intern(authorities, authority, (text) => parseHostPort(text, undefined) ?? { address: text, port: undefined });
}

function intern(table: Map<string, Endpoint>, text: string, parse: (text: string) => Endpoint): Endpoint {
  let endpoint = table.get(text);
  if (endpoint === undefined) {
    endpoint = parse(text);
    if (table.size < MAX_INTERNED) table.set(text, endpoint);
  }
  return endpoint;
}

export function parseTarget(target: string): Endpoint {
  const whole: Endpoint = { address: target, port: undefined };
  const colon = target.indexOf(':');
  const scheme = colon === -1 ? '' : target.slice(0, colon).toLowerCase();
  if (scheme === 'dns') {
    // dns:[//authority/]host[:port]: the authority is the DNS server, not the target.
    let rest = target.slice(colon + 1);
    if (rest.startsWith('//')) {
      const slash = rest.indexOf('/', 2);
      if (slash === -1) return whole;
      rest = rest.slice(slash + 1);
    }
    return parseHostPort(rest, DEFAULT_PORT) ?? whole;
  }
  if (scheme === 'unix') {
    // unix:path or unix:///absolute/path: the socket path, and no port.
    const path = target.slice(colon + 1).replace(/^\/\/(?=\/)/, '');
    return path === '' ? whole : { address: path, port: undefined };
  }
  if (scheme === 'ipv4' || scheme === 'ipv6') {
    // One address is a host and port; a list names no single server and is kept whole.
    const list = target.slice(colon + 1);
    return list.includes(',') ? whole : (parseHostPort(list, DEFAULT_PORT) ?? whole);
  }
  // No scheme grpc-js knows: grpc-js itself reads it as a dns name (host:port).
  if (scheme === '' || /^\d+$/.test(target.slice(colon + 1)) || target.startsWith('[')) {
    return parseHostPort(target, DEFAULT_PORT) ?? whole;
  }
  return whole;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`; undefined when the text is none of them. */
function parseHostPort(text: string, defaultPort: number | undefined): Endpoint | undefined {
  if (text === '') return undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return undefined;
    const address = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === '') return { address, port: defaultPort };
    return rest.startsWith(':') ? withPort(address, rest.slice(1)) : undefined;
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { address: text, port: defaultPort };
  // A bare IPv6 address (more than one colon, no brackets) has no port.
  if (text.indexOf(':') !== colon) return { address: text, port: defaultPort };
  return withPort(text.slice(0, colon), text.slice(colon + 1));
}

function withPort(address: string, port: string): Endpoint | undefined {
  if (address === '' || !/^\d{1,5}$/.test(port)) return undefined;
  const number = Number(port);
  return number <= 65535 ? { address, port: number } : undefined;
}
