// The plugin's side of the go-plugin handshake: the magic cookie, the protocol version the host and
// plugin agree on, and the one line the plugin prints on stdout. Mirrors go-plugin's server.go.

/** go-plugin's core protocol version: the first handshake field. */
export const CORE_PROTOCOL_VERSION = 1;

/** What go-plugin prints when the cookie is wrong or missing, word for word. */
export const NOT_A_PROGRAM_MESSAGE =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';

/** Whether the host set the cookie: a person running the plugin by hand did not. */
export function cookieMatches(env, cookie) {
  return env[cookie.key] === cookie.value;
}

/**
 * The app protocol version to serve: the newest of `supported` that the host lists in
 * PLUGIN_PROTOCOL_VERSIONS; when there is none in common (or no list), the oldest of `supported`, so
 * that the host reports the mismatch, as go-plugin does. Unparsable entries are reported and skipped.
 */
export function negotiateVersion(env, supported, report) {
  const offered = new Set();
  for (const entry of (env.PLUGIN_PROTOCOL_VERSIONS ?? '').split(',')) {
    if (entry === '') continue;
    const version = Number(entry);
    if (Number.isInteger(version) && /^-?\d+$/.test(entry)) offered.add(version);
    else report(`PLUGIN_PROTOCOL_VERSIONS: ignoring ${JSON.stringify(entry)}, not an integer`);
  }
  const newestFirst = [...supported].sort((a, b) => b - a);
  return newestFirst.find((version) => offered.has(version)) ?? newestFirst[newestFirst.length - 1];
}

/**
 * `CORE|APP|network|address|grpc|cert`, plus `|true` when the host set PLUGIN_MULTIPLEX_GRPC at all:
 * go-plugin adds the seventh field only then, because go-plugin 1.0.x hosts split the line into at
 * most six fields and would read `cert|true` as the certificate.
 */
export function handshakeLine({ appVersion, network, address, serverCert = '', env }) {
  const fields = [CORE_PROTOCOL_VERSION, appVersion, network, address, 'grpc', serverCert];
  if ((env.PLUGIN_MULTIPLEX_GRPC ?? '') !== '') fields.push('true');
  return `${fields.join('|')}\n`;
}
