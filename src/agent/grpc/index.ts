/**
 * @grpc/grpc-js client and server telemetry: spans, RPC metrics and context propagation, for the
 * grpc-js the app resolves from its own directory (locate.ts). docs/grpc.md describes what is
 * recorded and how each runtime and module format is reached.
 */
import { diag, metrics, trace } from '@opentelemetry/api';
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { spanDecisions } from '../sdk/sampler.ts';
import type { SharedInstruments } from '../sdk/shared-instruments.ts';
import { GrpcTelemetry } from './call-telemetry.ts';
import { instrumentClient, isClientPrototype } from './client.ts';
import { instrumentGeneratedClients, isMakeClientModule } from './generated-clients.ts';
import { findAppGrpc, isSupportedVersion, SUPPORTED_RANGE } from './locate.ts';
import { type MetadataClass, metadataCapture } from './metadata.ts';
import { conventionsOf } from './method.ts';
import { instrumentServer, isServerPrototype } from './server.ts';

export const SCOPE = 'rpcplugin-telemetry/grpc';

const GRPC_SCOPE = { name: SCOPE, version: VERSION };

const INSTRUMENTED: unique symbol = Symbol.for('rpcplugin-telemetry.grpc.instrumented');

export function instrumentGrpc(config: Config, { histograms }: SharedInstruments): void {
  const grpc = findAppGrpc();
  if (grpc === undefined) {
    diag.debug('rpcplugin-telemetry: the app has no @grpc/grpc-js (from its main module); gRPC is not instrumented.');
    return;
  }
  const where = `@grpc/grpc-js ${grpc.version} in ${grpc.directory}`;
  if (!isSupportedVersion(grpc.version)) throw new Error(`${where} is outside the supported range ${SUPPORTED_RANGE}`);

  // The whole library first, in its own order (its modules require each other in a cycle), then its parts.
  grpc.load('index.js');
  const client = (grpc.load('client.js') as { Client?: { prototype?: unknown } }).Client?.prototype;
  const server = (grpc.load('server.js') as { Server?: { prototype?: unknown } }).Server?.prototype;
  const makeClient = grpc.load('make-client.js');
  const Metadata = (grpc.load('metadata.js') as { Metadata?: unknown }).Metadata;
  if (!isClientPrototype(client) || !isServerPrototype(server) || !isMakeClientModule(makeClient)) {
    throw new Error(`${where} does not have the Client, Server and make-client shapes the agent knows`);
  }
  if (typeof Metadata !== 'function') throw new Error(`${where} has no Metadata class`);
  const marks = client as { [INSTRUMENTED]?: true };
  if (marks[INSTRUMENTED]) return;
  marks[INSTRUMENTED] = true;

  const conventions = conventionsOf(config.rpcConventions);
  const tracer = trace.getTracer(SCOPE, VERSION);
  const decisions = spanDecisions();
  const telemetry = new GrpcTelemetry(
    tracer,
    decisions?.decidesFor(tracer) ? decisions : undefined,
    metrics.getMeter(SCOPE, VERSION),
    histograms.enabled ? (name, options) => histograms.create(GRPC_SCOPE, name, options) : undefined,
    conventions,
    metadataCapture(config.plugin.captureMetadata, conventions),
    config.propagators.length > 0,
  );
  const requesters = instrumentClient(client, Metadata as MetadataClass, telemetry);
  instrumentGeneratedClients(makeClient, requesters);
  instrumentServer(server, telemetry);
  diag.debug(`rpcplugin-telemetry: instrumented ${where}.`);
}
