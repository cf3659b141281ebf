/**
 * url.full as the HTTP conventions want it recorded: credentials in the authority become
 * `REDACTED:REDACTED`, and the values of query keys that carry signatures become `REDACTED`. The
 * rest of the URL is kept byte for byte (no parse and re-serialization, which would re-encode it).
 */

const REDACTED = 'REDACTED';

/** The conventions' default list of query keys whose values are secret. */
const SENSITIVE_QUERY_KEYS = new Set(['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature']);

export function redactUrl(url: string): string {
  return redactQuery(redactCredentials(url));
}

function redactCredentials(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme === -1) return url;
  const start = scheme + 3;
  let end = url.length;
  for (const stop of ['/', '?', '#']) {
    const at = url.indexOf(stop, start);
    if (at !== -1 && at < end) end = at;
  }
  const at = url.lastIndexOf('@', end);
  if (at < start) return url;
  return `${url.slice(0, start)}${REDACTED}:${REDACTED}${url.slice(at)}`;
}

function redactQuery(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const hash = url.indexOf('#', query);
  const end = hash === -1 ? url.length : hash;
  let changed = false;
  const pairs = url
    .slice(query + 1, end)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1 || !SENSITIVE_QUERY_KEYS.has(pair.slice(0, equals))) return pair;
      changed = true;
      return `${pair.slice(0, equals + 1)}${REDACTED}`;
    });
  return changed ? `${url.slice(0, query + 1)}${pairs.join('&')}${url.slice(end)}` : url;
}

/** server.address, server.port and url.scheme of one origin (`http://example.com:8080`). */
export interface Origin {
  readonly scheme: string;
  readonly address: string;
  readonly port: number | undefined;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

const origins = new Map<string, Origin>();
/** Origins kept parsed; a process that calls more than this many parses the others per request. */
const MAX_ORIGINS = 1000;

/** The origin of a URL, parsed once per distinct origin text. */
export function originOf(origin: string): Origin {
  let parsed = origins.get(origin);
  if (parsed !== undefined) return parsed;
  parsed = parseOrigin(origin);
  if (origins.size < MAX_ORIGINS) origins.set(origin, parsed);
  return parsed;
}

function parseOrigin(text: string): Origin {
  try {
    const url = new URL(text);
    const scheme = url.protocol.slice(0, -1);
    // IPv6 literals are recorded without their brackets, as the conventions' examples show.
    const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
    return { scheme, address, port };
  } catch {
    return { scheme: 'http', address: text, port: undefined };
  }
}
