import type { Config } from '../../env/index.ts';

/** @grpc/grpc-js client and server telemetry (spans, RPC metrics, context propagation). Not yet implemented. */
export function instrumentGrpc(_config: Config): void {}
