// Serves a set of gRPC services as a go-plugin plugin: checks the cookie, negotiates the protocol
// version, listens, prints the handshake line, ignores SIGINT, and stops when the host says so.
import { writeSync } from 'node:fs';
import process from 'node:process';
import grpc from '@grpc/grpc-js';
import { generateCertificate } from './certificate.mjs';
import { goPluginServices } from './go-plugin-services.mjs';
import { cookieMatches, handshakeLine, NOT_A_PROGRAM_MESSAGE, negotiateVersion } from './handshake.mjs';
import { watchHost } from './host-watch.mjs';
import { ListenError, listenTcp, listenUnix } from './listener.mjs';
import { loadServices } from './protos.mjs';

/** How long Shutdown waits for open calls to finish before cutting them, well inside a host's 2 s. */
const GRACEFUL_STOP_MS = 500;

/**
 * AutoMTLS: when the host put its certificate (PEM) in PLUGIN_CLIENT_CERT, serve TLS with a fresh
 * certificate of our own, require the host's, and hand ours back in the handshake line as DER in
 * base64 without padding (the line cannot carry PEM's newlines), as go-plugin's server.go does.
 */
function autoMtls(env, logger) {
  const clientCert = env.PLUGIN_CLIENT_CERT ?? '';
  if (clientCert === '') return { credentials: grpc.ServerCredentials.createInsecure(), serverCert: '' };
  logger.debug('configuring server automatic mTLS');
  const own = generateCertificate();
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.from(clientCert),
    [{ private_key: Buffer.from(own.keyPem), cert_chain: Buffer.from(own.certificatePem) }],
    true,
  );
  return { credentials, serverCert: own.certificateDer.toString('base64').replace(/=+$/, '') };
}

/**
 * @param options.cookie       { key, value }: the magic cookie the host must set
 * @param options.versions     the app protocol versions this plugin speaks
 * @param options.transport    'unix' (go-plugin's choice off Windows) or 'tcp'
 * @param options.register     (server, definitions) => void: adds the plugin's own services
 * @param options.logger       a pino logger writing to stderr
 */
export async function servePlugin({ cookie, versions, transport, register, logger, env = process.env }) {
  if (!cookieMatches(env, cookie)) {
    process.stderr.write(NOT_A_PROGRAM_MESSAGE);
    process.exit(1);
  }
  const appVersion = negotiateVersion(env, versions, (message) => logger.warn(message));
  const definitions = loadServices();
  const server = new grpc.Server();
  let listener;

  const stop = () => {
    services.endStreams();
    const exit = () => {
      listener?.close();
      logger.info('plugin stopped');
      process.exit(0);
    };
    const force = setTimeout(() => {
      server.forceShutdown();
      exit();
    }, GRACEFUL_STOP_MS);
    server.tryShutdown(() => {
      clearTimeout(force);
      exit();
    });
  };
  const services = goPluginServices({ logger, onShutdown: () => setImmediate(stop) });
  server.addService(definitions.health.Health.service, services.health);
  server.addService(definitions.plugin.GRPCController.service, services.controller);
  server.addService(definitions.plugin.GRPCBroker.service, services.broker);
  server.addService(definitions.plugin.GRPCStdio.service, services.stdio);
  register(server, definitions);

  const { credentials, serverCert } = autoMtls(env, logger);
  try {
    const listen = transport === 'tcp' ? listenTcp : listenUnix;
    listener = await listen(server, env, credentials);
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    logger.error(`plugin init error: ${error.message}`);
    process.exit(1);
  }
  process.on('exit', () => listener.close());
  watchHost((parent) => {
    // The host held the other end of stderr: a write there now fails (EPIPE), and pino's
    // asynchronous destination would retry it at exit for ever. Said once, directly, then silence.
    logger.level = 'silent';
    try {
      writeSync(2, `kv-plugin: the host (process ${parent}) is gone; stopping\n`);
    } catch {}
    stop();
  });
  // A Ctrl-C in the host's terminal reaches the whole process group; the host stops the plugin itself.
  process.on('SIGINT', () => logger.debug('interrupt ignored: the host stops this plugin'));

  logger.debug({ network: listener.network, address: listener.address, appVersion }, 'plugin address');
  process.stdout.write(
    handshakeLine({ appVersion, network: listener.network, address: listener.address, serverCert, env }),
  );
}
