// Serves a set of gRPC services as a go-plugin plugin: checks the cookie, negotiates the protocol
// version, listens, prints the handshake line, ignores SIGINT, and stops when the host says so.
import process from 'node:process';
import grpc from '@grpc/grpc-js';
import { goPluginServices } from './go-plugin-services.mjs';
import { cookieMatches, handshakeLine, NOT_A_PROGRAM_MESSAGE, negotiateVersion } from './handshake.mjs';
import { ListenError, listenTcp, listenUnix } from './listener.mjs';
import { loadServices } from './protos.mjs';

/** How long Shutdown waits for open calls to finish before cutting them, well inside a host's 2 s. */
const GRACEFUL_STOP_MS = 500;

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

  try {
    listener = transport === 'tcp' ? await listenTcp(server, env) : await listenUnix(server, env);
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    logger.error(`plugin init error: ${error.message}`);
    process.exit(1);
  }
  process.on('exit', () => listener.close());
  // A Ctrl-C in the host's terminal reaches the whole process group; the host stops the plugin itself.
  process.on('SIGINT', () => logger.debug('interrupt ignored: the host stops this plugin'));

  logger.debug({ network: listener.network, address: listener.address, appVersion }, 'plugin address');
  process.stdout.write(handshakeLine({ appVersion, network: listener.network, address: listener.address, env }));
}
