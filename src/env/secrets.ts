/**
 * What counts as a secret, and how it is hidden. Values of secret variables, of list entries whose
 * key looks secret, and URL passwords never appear in a message or in `rpcplugin-telemetry env`.
 */

export const REDACTED = '[redacted]';

// Keys such as `authorization`, `x-api-key`, `deploy.token`, `PLUGIN_MAGIC_COOKIE`, `db_password`.
const SECRET_NAME =
  /auth|bearer|cookie|credential|jwt|key|passphrase|passwd|password|private|pwd|secret|session|signature|token/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

// A URL's userinfo as written: after the scheme and its slashes (WHATWG URL reads backslashes and
// missing slashes alike, so `http:\\u:p@h` and `ftp:u:p@h` carry credentials too), up to the last `@`
// before the path, query or fragment.
const USERINFO = /^([a-z][a-z0-9+.-]*:)?([\\/]*)[^/?#\\]*@/i;

/**
 * A URL with its userinfo replaced: the password, and the user name too, which is where some
 * services put the token (`https://TOKEN:x-oauth-basic@host`). Works on the text as written, valid
 * URL or not; anything a URL parser would still find credentials in is hidden whole.
 */
export function redactUrl(text: string): string {
  if (!text.includes('@')) return text;
  const match = USERINFO.exec(text);
  if (match) {
    const [written, scheme = '', slashes = ''] = match;
    return `${scheme}${slashes}${REDACTED}@${text.slice(written.length)}`;
  }
  try {
    const url = new URL(text);
    return url.username === '' && url.password === '' ? text : REDACTED;
  } catch {
    return REDACTED;
  }
}

/**
 * A `key=value,key=value` text with the values of secret-looking keys hidden, and of secret-looking
 * W3C baggage properties (`key=value;token=…`). An entry without `=` is hidden whole: it may be a
 * token pasted in the wrong place.
 */
export function redactKeyValueText(text: string): string {
  return text
    .split(',')
    .map((entry) => {
      const equals = entry.indexOf('=');
      if (equals === -1) return entry.trim() === '' ? entry : REDACTED;
      const key = entry.slice(0, equals);
      if (isSecretName(key)) return `${key}=${REDACTED}`;
      const [value, ...properties] = entry.slice(equals + 1).split(';');
      return [`${key}=${value}`, ...properties.map(redactProperty)].join(';');
    })
    .join(',');
}

function redactProperty(property: string): string {
  const equals = property.indexOf('=');
  if (equals === -1) return property;
  const key = property.slice(0, equals);
  return isSecretName(key) ? `${key}=${REDACTED}` : property;
}
