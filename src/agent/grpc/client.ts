/**
 * Client calls. The four request methods of grpc-js's Client class are wrapped: they serve
 * `client.makeUnaryRequest(path, …)` as they are, and the service clients made by
 * makeClientConstructor / loadPackageDefinition once generated-clients.ts points those at them
 * (grpc-js copies the originals when it loads, so wrapping the prototype alone reaches none of them).
 *
 * Per call: one span (a child of the caller's context), the trace context injected into a copy of
 * the app's metadata (the app's own object is left as it was), and, for unary and client-streaming
 * calls, the callback wrapped so that the span ends when the response arrives and the app's callback
 * runs in the caller's context. Streams end on their 'status' event, whichever way they end, or on
 * an 'error' event that nobody handles (grpc-js throws it then, and emits no 'status').
 * Anything of the agent's that fails sends the call out exactly as the app made it.
 */
import { type Context, context as contextApi, propagation as propagationApi, SpanKind } from '@opentelemetry/api';
import type { GrpcTelemetry, RpcCall } from './call-telemetry.ts';
import { emitInContext, type UnhandledError } from './emitter.ts';
import { endpointOfTarget } from './endpoint.ts';
import { type CallCarrier, countMessages, RPC_CALL } from './message-counting.ts';
import { type GrpcMetadata, type MetadataClass, metadataSetter } from './metadata.ts';
import type { Endpoint } from './method.ts';
import { STABLE, Status } from './semconv.ts';

// The API's exports are getters in its CommonJS build (two of them once bundled): read once, not per call.
const context = contextApi;
const propagation = propagationApi;
const CLIENT = SpanKind.CLIENT;

type Callback = (error: unknown, value?: unknown) => unknown;
// biome-ignore lint/suspicious/noExplicitAny: grpc-js's request methods take loosely typed arguments.
type Requester = (this: GrpcClient, ...args: any[]) => unknown;

export interface ClientPrototype {
  makeUnaryRequest: Requester;
  makeClientStreamRequest: Requester;
  makeServerStreamRequest: Requester;
  makeBidiStreamRequest: Requester;
}

const ENDPOINT: unique symbol = Symbol('rpcplugin-telemetry.grpc.endpoint');

interface GrpcClient {
  getChannel?(): { getTarget?(): string };
  [ENDPOINT]?: Endpoint | null;
}

interface StatusLike {
  code?: unknown;
  details?: unknown;
}

interface ClientStream extends CallCarrier {
  on(event: 'status', listener: (this: ClientStream, status: StatusLike) => void): unknown;
}

export const REQUESTERS = [
  'makeUnaryRequest',
  'makeClientStreamRequest',
  'makeServerStreamRequest',
  'makeBidiStreamRequest',
] as const;

export function isClientPrototype(value: unknown): value is ClientPrototype {
  const prototype = value as Record<string, unknown> | null | undefined;
  return (
    typeof prototype === 'object' &&
    prototype !== null &&
    REQUESTERS.every((name) => typeof prototype[name] === 'function')
  );
}

/** The optional arguments as grpc-js reads them; one object reused, as a call reads them synchronously. */
const parsed = {
  metadata: undefined as GrpcMetadata | undefined,
  options: undefined as unknown,
  callback: undefined as unknown,
};

/** Wraps the four request methods in place; returns the wrapped ones (generated clients are pointed at them). */
export function instrumentClient(
  prototype: ClientPrototype,
  Metadata: MetadataClass,
  telemetry: GrpcTelemetry,
): ClientPrototype {
  const calls = new ClientCalls(telemetry, Metadata);
  const { makeUnaryRequest, makeClientStreamRequest, makeServerStreamRequest, makeBidiStreamRequest } = prototype;

  prototype.makeUnaryRequest = function (method, serialize, deserialize, argument, arg1, arg2, arg3) {
    if (!calls.readUnaryArguments(arg1, arg2, arg3))
      return makeUnaryRequest.call(this, method, serialize, deserialize, argument, arg1, arg2, arg3);
    const { metadata, options, callback } = parsed;
    const call = calls.begin(this, method, false, false, metadata);
    if (call === undefined)
      return makeUnaryRequest.call(this, method, serialize, deserialize, argument, arg1, arg2, arg3);
    const respond = calls.responder(call, callback as Callback);
    try {
      return makeUnaryRequest.call(this, method, serialize, deserialize, argument, call.outgoing, options, respond);
    } catch (error) {
      calls.fail(call, error);
      throw error;
    }
  };

  prototype.makeClientStreamRequest = function (method, serialize, deserialize, arg1, arg2, arg3) {
    if (!calls.readUnaryArguments(arg1, arg2, arg3))
      return makeClientStreamRequest.call(this, method, serialize, deserialize, arg1, arg2, arg3);
    const { metadata, options, callback } = parsed;
    const call = calls.begin(this, method, true, false, metadata);
    if (call === undefined) return makeClientStreamRequest.call(this, method, serialize, deserialize, arg1, arg2, arg3);
    const respond = calls.responder(call, callback as Callback);
    let stream: CallCarrier;
    try {
      stream = makeClientStreamRequest.call(
        this,
        method,
        serialize,
        deserialize,
        call.outgoing,
        options,
        respond,
      ) as CallCarrier;
    } catch (error) {
      calls.fail(call, error);
      throw error;
    }
    calls.attach(stream, call, false);
    return stream;
  };

  prototype.makeServerStreamRequest = function (method, serialize, deserialize, argument, arg1, arg2) {
    const metadata = arg1 instanceof Metadata ? (arg1 as GrpcMetadata) : undefined;
    const call = calls.begin(this, method, false, true, metadata);
    if (call === undefined)
      return makeServerStreamRequest.call(this, method, serialize, deserialize, argument, arg1, arg2);
    // grpc-js's own reading of the optional arguments (checkMetadataAndOptions).
    const options = metadata === undefined ? arg1 || {} : arg2 || {};
    let stream: ClientStream;
    try {
      stream = makeServerStreamRequest.call(
        this,
        method,
        serialize,
        deserialize,
        argument,
        call.outgoing,
        options,
      ) as ClientStream;
    } catch (error) {
      calls.fail(call, error);
      throw error;
    }
    calls.attach(stream, call, true);
    return stream;
  };

  prototype.makeBidiStreamRequest = function (method, serialize, deserialize, arg1, arg2) {
    const metadata = arg1 instanceof Metadata ? (arg1 as GrpcMetadata) : undefined;
    const call = calls.begin(this, method, true, true, metadata);
    if (call === undefined) return makeBidiStreamRequest.call(this, method, serialize, deserialize, arg1, arg2);
    const options = metadata === undefined ? arg1 || {} : arg2 || {};
    let stream: ClientStream;
    try {
      stream = makeBidiStreamRequest.call(this, method, serialize, deserialize, call.outgoing, options) as ClientStream;
    } catch (error) {
      calls.fail(call, error);
      throw error;
    }
    calls.attach(stream, call, true);
    return stream;
  };

  return {
    makeUnaryRequest: prototype.makeUnaryRequest,
    makeClientStreamRequest: prototype.makeClientStreamRequest,
    makeServerStreamRequest: prototype.makeServerStreamRequest,
    makeBidiStreamRequest: prototype.makeBidiStreamRequest,
  };
}

class ClientCalls {
  /** One listener for every stream: the stream is `this`, its call is on it. */
  private readonly onStatus: (this: ClientStream, status: StatusLike) => void;
  /** One for every stream too: an 'error' nobody handled, after which grpc-js emits no 'status'. */
  private readonly onUnhandledError: UnhandledError;

  constructor(
    private readonly telemetry: GrpcTelemetry,
    private readonly Metadata: MetadataClass,
  ) {
    this.onStatus = function (status) {
      const call = this[RPC_CALL];
      if (call === undefined) return;
      try {
        telemetry.finish(call, codeOf(status?.code), detailsOf(status?.details));
      } catch {
        // Never into the app's event loop.
      }
    };
    this.onUnhandledError = (stream, error) => {
      const call = (stream as CallCarrier)[RPC_CALL];
      if (call === undefined || call.ended) return;
      call.error = error;
      const { code, details } = (error ?? {}) as StatusLike;
      telemetry.finish(call, codeOf(code), detailsOf(details));
    };
  }

  /**
   * grpc-js's reading of `metadata?, options?, callback` (checkOptionalUnaryResponseArguments) into
   * `parsed`; false when grpc-js would reject them (it then says why itself).
   */
  readUnaryArguments(arg1: unknown, arg2: unknown, arg3: unknown): boolean {
    let metadata: unknown;
    let options: unknown = {};
    let callback: unknown;
    if (typeof arg1 === 'function') callback = arg1;
    else if (typeof arg2 === 'function') {
      callback = arg2;
      if (arg1 instanceof this.Metadata) metadata = arg1;
      else options = arg1;
    } else {
      metadata = arg1;
      options = arg2;
      callback = arg3;
      if (!(metadata instanceof this.Metadata)) return false;
    }
    if (!(options instanceof Object) || typeof callback !== 'function') return false;
    parsed.metadata = metadata as GrpcMetadata | undefined;
    parsed.options = options;
    parsed.callback = callback;
    return true;
  }

  /** The call and the metadata it sends; undefined (the call goes out untouched) if anything fails. */
  begin(
    client: GrpcClient,
    path: unknown,
    requestStream: boolean,
    responseStream: boolean,
    metadata: GrpcMetadata | undefined,
  ): RpcCall | undefined {
    if (typeof path !== 'string') return undefined;
    const { telemetry } = this;
    let call: RpcCall | undefined;
    try {
      const method = telemetry.client.get(path, requestStream, responseStream);
      call = telemetry.start(method, CLIENT, context.active(), endpointOf(client), metadata);
      if (!method.known && telemetry.conventions.stable) call.span.setAttribute(STABLE.methodOriginal, path);
      if (telemetry.propagates) {
        const outgoing = metadata === undefined ? new this.Metadata() : metadata.clone();
        propagation.inject(call.context, outgoing, metadataSetter);
        call.outgoing = outgoing;
      } else call.outgoing = metadata ?? new this.Metadata();
      return call;
    } catch {
      if (call !== undefined) telemetry.abandon(call);
      return undefined;
    }
  }

  /** The callback grpc-js gets: ends the span, then runs the app's callback in the caller's context. */
  responder(call: RpcCall, callback: Callback): Callback {
    const calls = this;
    return function respond(error, value) {
      calls.end(call, error);
      const parent: Context = call.parent;
      if (context.active() === parent) return callback(error, value);
      return context.with(parent, callback, undefined, error, value);
    };
  }

  end(call: RpcCall, error: unknown): void {
    try {
      if (error) {
        call.error = error;
        const { code, details } = error as StatusLike;
        this.telemetry.finish(call, codeOf(code), detailsOf(details));
      } else this.telemetry.finish(call, Status.OK, undefined);
    } catch {
      // Telemetry never keeps the app's callback from running.
    }
  }

  /** grpc-js threw before the call started (bad arguments): the span ends with it. */
  fail(call: RpcCall, error: unknown): void {
    call.error = error;
    try {
      this.telemetry.finish(call, Status.UNKNOWN, error instanceof Error ? error.message : String(error));
    } catch {
      // The app gets grpc-js's exception, not ours.
    }
  }

  /** Streams: message counting, the end on 'status', and listeners run in the caller's context. */
  attach(stream: CallCarrier, call: RpcCall, endsOnStatus: boolean): void {
    try {
      stream[RPC_CALL] = call;
      if (this.telemetry.conventions.old) countMessages(stream);
      if (endsOnStatus) (stream as ClientStream).on('status', this.onStatus);
      // Listeners run in the caller's context, not in whatever context grpc-js's I/O carries; an
      // unhandled 'error' ends the span with it.
      emitInContext(stream, call.parent, this.onUnhandledError);
    } catch {
      // The call runs on; at worst its listeners see another context.
    }
  }
}

function codeOf(code: unknown): number {
  return typeof code === 'number' ? code : Status.UNKNOWN;
}

function detailsOf(details: unknown): string | undefined {
  return typeof details === 'string' ? details : undefined;
}

/** server.address and server.port from the client's channel target, read once per client. */
function endpointOf(client: GrpcClient): Endpoint | undefined {
  const cached = client[ENDPOINT];
  if (cached !== undefined) return cached ?? undefined;
  let endpoint: Endpoint | null = null;
  try {
    const target = client.getChannel?.().getTarget?.();
    if (typeof target === 'string') endpoint = endpointOfTarget(target);
  } catch {
    // A client without a channel (a test double): no server attributes.
  }
  client[ENDPOINT] = endpoint;
  return endpoint ?? undefined;
}
