/**
 * Request and response headers recorded on client spans, for the names
 * RPCPLUGIN_HTTP_CAPTURE_REQUEST_HEADERS and RPCPLUGIN_HTTP_CAPTURE_RESPONSE_HEADERS list: as
 * `http.request.header.<name>` / `http.response.header.<name>`, each an array of the header's
 * values. Values of secret-looking names are `[redacted]`, by the rules the gRPC metadata capture
 * and `rpcplugin-telemetry env` use (src/env/secrets.ts).
 */
import type { Attributes } from '@opentelemetry/api';
import { isSecretName, REDACTED } from '../../env/index.ts';
import { ATTR } from './semconv.ts';

/** Reads one header (lowercase name) from wherever a client keeps it; undefined when absent. */
export type HeaderReader = (name: string) => string | readonly string[] | undefined;

/** Attributes for the configured headers, or undefined when none of them is there. */
export type HeaderCapture = ((read: HeaderReader) => Attributes | undefined) | undefined;

export function headerCapture(names: readonly string[], side: 'request' | 'response'): HeaderCapture {
  if (names.length === 0) return undefined;
  const prefix = side === 'request' ? ATTR.requestHeader : ATTR.responseHeader;
  const captured = names.map((name) => ({ name, attribute: prefix + name, secret: isSecretName(name) }));
  return (read) => {
    let attributes: Attributes | undefined;
    for (const { name, attribute, secret } of captured) {
      const value = read(name);
      if (value === undefined) continue;
      const values = typeof value === 'string' ? [value] : [...value];
      attributes ??= {};
      attributes[attribute] = secret ? values.map(() => REDACTED) : values;
    }
    return attributes;
  };
}

/** A header from raw name/value pairs, as undici keeps them ([name, value, name, value…], Buffers or strings). */
export function readRawPairs(pairs: readonly unknown[], name: string): string[] | undefined {
  let values: string[] | undefined;
  for (let index = 0; index + 1 < pairs.length; index += 2) {
    if (String(pairs[index]).toLowerCase() !== name) continue;
    const value = pairs[index + 1];
    values ??= [];
    values.push(...(Array.isArray(value) ? value.map(String) : [String(value)]));
  }
  return values;
}

/** A header from a raw header block (`name: value\r\n…`), as undici 6 keeps a request's. */
export function readHeaderBlock(block: string, name: string): string[] | undefined {
  let values: string[] | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1 || line.slice(0, colon).trim().toLowerCase() !== name) continue;
    values ??= [];
    values.push(line.slice(colon + 1).trim());
  }
  return values;
}
