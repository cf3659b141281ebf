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

/** A URL with its password (and a user name that carries one) replaced; anything unparsable is hidden whole. */
export function redactUrl(text: string): string {
  if (!text.includes('@')) return text;
  try {
    const url = new URL(text);
    if (url.password === '' && url.username === '') return text;
    // Userinfo is built by hand: URL setters would percent-encode the brackets.
    const userinfo = url.password === '' ? REDACTED : `${url.username}:${REDACTED}`;
    return text.replace(/\/\/[^/?#]*@/, `//${userinfo}@`);
  } catch {
    return REDACTED;
  }
}

/**
 * A `key=value,key=value` text with the values of secret-looking keys hidden. An entry without `=`
 * is hidden whole: it may be a token pasted in the wrong place.
 */
export function redactKeyValueText(text: string): string {
  return text
    .split(',')
    .map((entry) => {
      const equals = entry.indexOf('=');
      if (equals === -1) return entry.trim() === '' ? entry : REDACTED;
      const key = entry.slice(0, equals);
      return isSecretName(key) ? `${key}=${REDACTED}` : entry;
    })
    .join(',');
}
