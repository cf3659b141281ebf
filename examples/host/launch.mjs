// Starts a plugin the go-plugin way and waits for its handshake line: the cookie, the protocol
// versions and the port range go in its environment; its stderr is relayed, each line prefixed.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { HandshakeError, parseHandshake } from './handshake.mjs';

/** Relays each line of `stream` to `out` with `prefix`. */
function relayLines(stream, prefix, out) {
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
    out.write(`${prefix}${line}\n`),
  );
}

/**
 * With `clientCertificatePem`, asks for AutoMTLS: the plugin must answer with its certificate.
 * Resolves with { child, handshake, exited } once the plugin printed a valid handshake line; rejects
 * with a HandshakeError (after killing the plugin) when the line is unusable, does not come within
 * `timeoutMs`, or the plugin exits first. `exited` resolves with { code, signal }.
 */
export function launchPlugin({
  command,
  args,
  cookie,
  appVersions,
  minPort,
  maxPort,
  multiplex,
  clientCertificatePem,
  timeoutMs,
  env,
}) {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...env,
      [cookie.key]: cookie.value,
      PLUGIN_MIN_PORT: String(minPort),
      PLUGIN_MAX_PORT: String(maxPort),
      PLUGIN_PROTOCOL_VERSIONS: appVersions.join(','),
      ...(multiplex ? { PLUGIN_MULTIPLEX_GRPC: 'true' } : {}),
      ...(clientCertificatePem === undefined ? {} : { PLUGIN_CLIENT_CERT: clientCertificatePem }),
    },
  });
  relayLines(child.stderr, 'plugin: ', process.stderr);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // A host that dies (an uncaught error, a closed stdout) must not leave its plugin running.
  const killPlugin = () => child.kill('SIGKILL');
  process.on('exit', killPlugin);
  exited.then(() => process.off('exit', killPlugin));
  const shown = [command, ...args].join(' ');

  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    let settled = false;
    const settle = (error, handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) return resolve({ child, handshake, exited });
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () => settle(new HandshakeError(`the plugin printed no handshake line within ${timeoutMs} ms: ${shown}`)),
      timeoutMs,
    );
    child.on('error', (error) => settle(new HandshakeError(`cannot start the plugin ${shown}: ${error.message}`)));
    exited.then(({ code, signal }) =>
      settle(new HandshakeError(`the plugin exited (${signal ?? `code ${code}`}) before its handshake line: ${shown}`)),
    );
    lines.on('line', (line) => {
      if (settled) {
        // go-plugin hosts log later stdout lines; ours keeps its own stdout for results.
        process.stderr.write(`plugin stdout: ${line}\n`);
        return;
      }
      try {
        settle(undefined, {
          line,
          ...parseHandshake(line, { appVersions, autoMtls: clientCertificatePem !== undefined }),
        });
      } catch (error) {
        settle(error);
      }
    });
  });
}
