/**
 * Server calls. Server.prototype.register (which addService calls for every method) is wrapped, so
 * each method's handler is wrapped once, with the method's prebuilt telemetry, when it is registered.
 *
 * Per call: the trace context is extracted from the request metadata, the span started, and the
 * handler run in its context (streams are bound to it too, so their listeners see it). The span ends
 * with the status grpc-js actually sends (its call's sendStatus, whatever path led there: callback,
 * stream end, stream error, a throwing handler, a deadline), or when the call is cancelled; first one
 * wins. Calls to methods nobody registered never reach a handler: _retrieveHandler sees them.
 */
import {
  context as contextApi,
  propagation as propagationApi,
  ROOT_CONTEXT as rootContext,
  SpanKind,
} from '@opentelemetry/api';
import { serverCallArrived } from '../sdk/process-end.ts';
import type { GrpcTelemetry, RpcCall } from './call-telemetry.ts';
import { emitInContext } from './emitter.ts';
import { endpointOfAuthority } from './endpoint.ts';
import { type CallCarrier, countMessages, RPC_CALL } from './message-counting.ts';
import { type GrpcMetadata, metadataGetter } from './metadata.ts';
import type { Endpoint, RpcMethod } from './method.ts';
import { Status } from './semconv.ts';

// The API's exports are getters in its CommonJS build (two of them once bundled): read once, not per call.
const context = contextApi;
const propagation = propagationApi;
const ROOT_CONTEXT = rootContext;
const SERVER = SpanKind.SERVER;

type Handler = (this: unknown, call: ServerSurface, callback?: Respond) => unknown;
type Respond = (error: unknown, value?: unknown, trailer?: unknown, flags?: unknown) => unknown;

export interface ServerPrototype {
  register(name: unknown, handler: unknown, serialize: unknown, deserialize: unknown, type: unknown): unknown;
  _retrieveHandler?(path: unknown): unknown;
}

interface StatusLike {
  code?: unknown;
  details?: unknown;
}

interface Socket {
  localAddress?: string;
  localPort?: number;
}

/** grpc-js's call under the handler's call object: the one that sends the status. */
interface InnerCall extends CallCarrier {
  sendStatus(status: StatusLike): unknown;
  /** The request's `:authority` (grpc-js 1.10+). */
  getHost?(): unknown;
  /** grpc-js 1.8: the HTTP/2 stream. */
  stream?: { session?: { socket?: Socket } };
}

/** The call object a handler gets (ServerUnaryCall, ServerReadableStream, …). */
interface ServerSurface extends CallCarrier {
  call?: InnerCall;
  metadata?: GrpcMetadata;
  getDeadline?(): unknown;
  on(event: string, listener: (this: ServerSurface, ...args: unknown[]) => void): unknown;
  prependListener(event: string, listener: (this: ServerSurface, ...args: unknown[]) => void): unknown;
  listenerCount?(event: string): number;
}

/**
 * A cancellation this close to the call's deadline is the client's deadline timer at work: the
 * client resets the stream when its deadline passes, which can reach the server just before the
 * server's own timer fires.
 */
const DEADLINE_SLACK_MS = 10;

export function isServerPrototype(value: unknown): value is ServerPrototype {
  return typeof (value as Partial<ServerPrototype> | null)?.register === 'function';
}

export function instrumentServer(prototype: ServerPrototype, telemetry: GrpcTelemetry): void {
  const calls = new ServerCalls(telemetry);
  const register = prototype.register;
  prototype.register = function (...args) {
    const [name, handler] = args;
    try {
      if (typeof name === 'string' && typeof handler === 'function') {
        args[1] = calls.wrap(name, handler as Handler, args[4]);
      }
    } catch {
      args[1] = handler;
    }
    return register.apply(this, args);
  };
  const retrieveHandler = prototype._retrieveHandler;
  if (typeof retrieveHandler === 'function') {
    prototype._retrieveHandler = function (path) {
      const handler = retrieveHandler.call(this, path);
      if (handler === null || handler === undefined) {
        try {
          telemetry.recordUnknownServerCall();
        } catch {
          // grpc-js answers UNIMPLEMENTED all the same.
        }
      }
      return handler;
    };
  }
}

class ServerCalls {
  private readonly sendStatus: (this: InnerCall, status: StatusLike) => unknown;
  private readonly onCancelled: (this: ServerSurface) => void;
  private readonly onError: (this: ServerSurface, error: unknown) => void;

  constructor(private readonly telemetry: GrpcTelemetry) {
    // Shared by every call: the call object is `this`, the agent's record of the call is on it.
    this.sendStatus = function (status) {
      const call = this[RPC_CALL] as RpcCall;
      try {
        telemetry.finish(call, codeOf(status?.code), detailsOf(status?.details));
      } catch {
        // The status goes out all the same.
      }
      return (call.sendStatus as (status: StatusLike) => unknown).call(this, status);
    };
    this.onCancelled = function () {
      const call = this[RPC_CALL];
      if (call === undefined || call.ended) return;
      try {
        if (deadlinePassed(this)) telemetry.finish(call, Status.DEADLINE_EXCEEDED, 'Deadline exceeded');
        else telemetry.finish(call, Status.CANCELLED, 'Cancelled by the client');
      } catch {
        // Never into the app's event loop.
      }
    };
    this.onError = function (error) {
      const call = this[RPC_CALL];
      if (call !== undefined && call.error === undefined) call.error = error;
    };
  }

  /** The handler grpc-js will call for `path`, built once, at registration. */
  wrap(path: string, handler: Handler, type: unknown): Handler {
    const requestStream = type === 'clientStream' || type === 'bidi';
    const responseStream = type === 'serverStream' || type === 'bidi';
    const method = this.telemetry.server.get(path, requestStream, responseStream);
    const calls = this;
    if (!responseStream) {
      // unary and client streaming: the response goes through a callback, which also carries the error.
      return function (surface, callback) {
        serverCallArrived(path);
        const call = typeof callback === 'function' ? calls.begin(method, surface) : undefined;
        if (call === undefined || callback === undefined) return handler.call(this, surface, callback);
        // The error is kept for the span's exception; a call that is not recorded has no use for it.
        if (!call.recording) return calls.run(call, handler, this, surface, callback);
        const respond: Respond = (error, value, trailer, flags) => {
          if (error) call.error = error;
          return callback(error, value, trailer, flags);
        };
        return calls.run(call, handler, this, surface, respond);
      };
    }
    return function (surface) {
      serverCallArrived(path);
      const call = calls.begin(method, surface);
      if (call === undefined) return handler.call(this, surface);
      return calls.run(call, handler, this, surface, undefined);
    };
  }

  begin(method: RpcMethod, surface: ServerSurface): RpcCall | undefined {
    const inner = surface?.call;
    if (typeof inner?.sendStatus !== 'function') return undefined;
    const { telemetry } = this;
    let call: RpcCall | undefined;
    try {
      const metadata = surface.metadata;
      const parent =
        metadata === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
      call = telemetry.start(method, SERVER, parent, endpointOf(inner), metadata);
      if (method.streaming) {
        if (telemetry.conventions.old) countMessages(surface);
        // grpc-js listens for errors on its server streams already, so a listener of ours changes
        // nothing. Ours goes first: grpc-js's own can send the status, and so end the span, at once.
        if (call.recording && (surface.listenerCount?.('error') ?? 0) > 0)
          surface.prependListener('error', this.onError);
        emitInContext(surface, call.context);
      }
      surface.on('cancelled', this.onCancelled);
      surface[RPC_CALL] = call;
      call.sendStatus = inner.sendStatus;
      inner[RPC_CALL] = call;
      inner.sendStatus = this.sendStatus;
      return call;
    } catch {
      if (call !== undefined) telemetry.abandon(call);
      return undefined;
    }
  }

  /** Runs the handler in the call's context; an exception it throws is the call's error (grpc-js gets it too). */
  run(call: RpcCall, handler: Handler, self: unknown, surface: ServerSurface, respond: Respond | undefined): unknown {
    try {
      return respond === undefined
        ? context.with(call.context, handler, self, surface)
        : context.with(call.context, handler, self, surface, respond);
    } catch (error) {
      call.error = error;
      throw error;
    }
  }
}

function codeOf(code: unknown): number {
  return typeof code === 'number' ? code : Status.UNKNOWN;
}

function detailsOf(details: unknown): string | undefined {
  return typeof details === 'string' ? details : undefined;
}

function deadlinePassed(surface: ServerSurface): boolean {
  try {
    const deadline = surface.getDeadline?.();
    const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    return Number.isFinite(at) && at - Date.now() <= DEADLINE_SLACK_MS;
  } catch {
    return false;
  }
}

const socketEndpoints = new WeakMap<Socket, Endpoint>();

/**
 * server.address and server.port: the `:authority` the client sent (grpc-js 1.10+); grpc-js 1.8 keeps
 * no request headers, so there it is the address the connection came in on.
 */
function endpointOf(inner: InnerCall): Endpoint | undefined {
  if (typeof inner.getHost === 'function') {
    const host = inner.getHost();
    return typeof host === 'string' && host !== '' ? endpointOfAuthority(host) : undefined;
  }
  const socket = inner.stream?.session?.socket;
  if (socket?.localAddress === undefined) return undefined;
  let endpoint = socketEndpoints.get(socket);
  if (endpoint === undefined) {
    endpoint = { address: socket.localAddress, port: socket.localPort };
    socketEndpoints.set(socket, endpoint);
  }
  return endpoint;
}
