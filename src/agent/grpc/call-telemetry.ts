/**
 * What every gRPC call records, client or server: its span, started with attributes built once per
 * method and ended exactly once with the call's status; the duration histograms; messages per RPC
 * for streams; and the active-call counters, observed at export time from plain integers kept per
 * method (a call adds no metric record of its own for them).
 */
import {
  type Context,
  type Exception,
  type Meter,
  type ObservableResult,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import type { FastHistogram, HistogramOptions } from '../pipelines/histogram-registry.ts';
import type { SpanDecisions } from '../sdk/span-decisions.ts';
import { contextWithSpan } from './call-context.ts';
import type { GrpcMetadata, MetadataCapture } from './metadata.ts';
import { type Conventions, type Endpoint, MethodTable, type RpcMethod, type Side } from './method.ts';
import {
  ACTIVE_CALLS,
  DURATION_BUCKETS_SECONDS,
  isErrorStatus,
  MESSAGE_COUNT_BUCKETS,
  OLD,
  STABLE,
  Status,
  statusName,
} from './semconv.ts';

/** One call in progress. */
export class RpcCall {
  ended = false;
  /** Messages received and sent, counted for streams under the old conventions (messages per RPC). */
  received = 0;
  sent = 0;
  /** The error the app passed or threw, recorded on the span as the exception. */
  error: unknown = undefined;
  /** Client: the metadata sent (the app's, copied, with the trace context). */
  outgoing: GrpcMetadata | undefined = undefined;
  /** Server: the call's own sendStatus, which the agent's one wraps. */
  // biome-ignore lint/suspicious/noExplicitAny: grpc-js's status object, passed on untouched.
  sendStatus: ((status: any) => unknown) | undefined = undefined;

  constructor(
    readonly method: RpcMethod,
    readonly span: Span,
    /** Whether the span records (a call that is not recorded is only measured and propagated). */
    readonly recording: boolean,
    /** performance.now() at the start: the span and the duration histograms share it. */
    readonly start: number,
    /** The caller's context (client), or the context carried in the request metadata (server). */
    readonly parent: Context,
    /** parent with the call's span in it: what the server handler runs in, what the client propagates. */
    readonly context: Context,
  ) {}
}

interface SideInstruments {
  readonly oldDuration: FastHistogram | undefined;
  readonly stableDuration: FastHistogram | undefined;
  readonly requestsPerRpc: FastHistogram | undefined;
  readonly responsesPerRpc: FastHistogram | undefined;
}

/** Makes one of the agent's fast histograms (pipelines/histogram-registry.ts); undefined when no metric reader takes them. */
export type CreateHistogram = (name: string, options: HistogramOptions) => FastHistogram;

export class GrpcTelemetry {
  readonly client: MethodTable;
  readonly server: MethodTable;
  private readonly instruments: Readonly<Record<Side, SideInstruments>>;

  constructor(
    private readonly tracer: Tracer,
    /** Sampling before the span is made; undefined when the tracer is not this agent's provider's. */
    private readonly decisions: SpanDecisions | undefined,
    meter: Meter,
    createHistogram: CreateHistogram | undefined,
    readonly conventions: Conventions,
    /** Request metadata keys recorded on spans (RPCPLUGIN_GRPC_CAPTURE_METADATA). */
    readonly capture: MetadataCapture,
    /** false when OTEL_PROPAGATORS=none: outgoing metadata is then left as the app made it. */
    readonly propagates: boolean,
  ) {
    this.client = new MethodTable('client', conventions);
    this.server = new MethodTable('server', conventions);
    this.instruments = {
      client: createInstruments(createHistogram, 'client', conventions),
      server: createInstruments(createHistogram, 'server', conventions),
    };
    for (const side of ['client', 'server'] as const) {
      const table = this[side];
      meter
        .createObservableUpDownCounter(ACTIVE_CALLS[side], {
          description: `Number of ${side === 'server' ? 'incoming' : 'outgoing'} gRPC calls in progress.`,
          unit: '{call}',
        })
        .addCallback((result: ObservableResult) => {
          for (const method of table.all()) if (method.seen) result.observe(method.active, method.activeAttributes);
        });
    }
  }

  /** Starts the span of a call; `parent` is the caller's context, or the one extracted from metadata. */
  start(
    method: RpcMethod,
    kind: SpanKind,
    parent: Context,
    endpoint: Endpoint | undefined,
    metadata: GrpcMetadata | undefined,
  ): RpcCall {
    const start = performance.now();
    let attributes = method.spanAttributesAt(endpoint);
    const { decisions } = this;
    let span: Span;
    // Sampling first: a call that will not be recorded gets the SDK's non-recording span, and none
    // of the work a recorded span needs (captured metadata, the SDK's span, the listeners for its end).
    if (decisions?.decide(parent, method.spanName, kind, attributes)) span = decisions.nonRecordingSpan();
    else {
      try {
        if (this.capture !== undefined && metadata !== undefined) {
          const captured = this.capture(metadata);
          if (captured !== undefined) attributes = { ...attributes, ...captured };
        }
        span = this.tracer.startSpan(method.spanName, { kind, attributes, startTime: start }, parent);
      } finally {
        // A decision no span took must not reach the next span of the tracer's.
        decisions?.clear();
      }
    }
    method.active++;
    method.seen = true;
    return new RpcCall(method, span, span.isRecording(), start, parent, contextWithSpan(parent, span));
  }

  /**
   * Ends a call with its status: metrics, then the span. The first ending wins (a stream can end by
   * its status, a cancellation and a late callback, in any order); it returns whether this was it.
   */
  finish(call: RpcCall, code: number, details: string | undefined): boolean {
    if (call.ended) return false;
    call.ended = true;
    const end = performance.now();
    const { method, span } = call;
    method.active--;
    const error = isErrorStatus(method.side, code);
    const instruments = this.instruments[method.side];
    const milliseconds = end - call.start;
    instruments.oldDuration?.record(milliseconds, method.oldMetricAttributes(code));
    instruments.stableDuration?.record(milliseconds / 1000, method.stableMetricAttributes(code, error));
    if (instruments.requestsPerRpc !== undefined && method.streaming) {
      recordMessages(instruments, call, code);
    }
    if (call.recording) {
      const name = statusName(code);
      if (this.conventions.old) span.setAttribute(OLD.statusCode, code);
      if (this.conventions.stable) {
        span.setAttribute(STABLE.statusCode, name);
        if (error) span.setAttribute(STABLE.errorType, name);
      }
      if (error) {
        const exception = call.error ?? (method.side === 'client' ? statusException(code, details) : undefined);
        if (exception !== undefined) span.recordException(toException(exception, code), end);
        span.setStatus({ code: SpanStatusCode.ERROR, message: details ? `${name}: ${details}` : name });
      }
    }
    span.end(end);
    return true;
  }

  /**
   * A call the agent could not finish setting up (it goes out untouched): its span ends unrecorded
   * in the metrics, so that no span stays open and the active-call count stays right.
   */
  abandon(call: RpcCall): void {
    if (call.ended) return;
    call.ended = true;
    call.method.active--;
    call.span.end();
  }

  /**
   * A call to a method the server did not register: grpc-js answers UNIMPLEMENTED at once, before
   * any handler runs. Counted under `_OTHER` (duration 0); no span, as the request's trace context is
   * not at hand there (the client's span shows the call).
   */
  recordUnknownServerCall(): void {
    const method = this.server.unknown();
    const instruments = this.instruments.server;
    instruments.oldDuration?.record(0, method.oldMetricAttributes(Status.UNIMPLEMENTED));
    instruments.stableDuration?.record(0, method.stableMetricAttributes(Status.UNIMPLEMENTED, true));
  }
}

function recordMessages(instruments: SideInstruments, call: RpcCall, code: number): void {
  const { method } = call;
  // A side that is not a stream carries one message, or none when the call failed before it.
  const answered = code === Status.OK ? 1 : 0;
  const [requests, responses] =
    method.side === 'client'
      ? [method.requestStream ? call.sent : 1, method.responseStream ? call.received : answered]
      : [method.requestStream ? call.received : 1, method.responseStream ? call.sent : answered];
  const attributes = method.oldMetricAttributes(code);
  instruments.requestsPerRpc?.record(requests, attributes);
  instruments.responsesPerRpc?.record(responses, attributes);
}

/** What grpc-js would have thrown for a status (it emits it on streams; the agent never listens there). */
function statusException(code: number, details: string | undefined): Exception {
  return { name: 'Error', message: `${code} ${statusName(code)}: ${details ?? ''}` };
}

/**
 * The exception as the span records it, with the type that the error itself gives (docs/grpc.md,
 * "Exceptions"). grpc-js's errors carry the numeric status as `code`, which the SDK would report as
 * exception.type ("5"), so the type is worked out here: the error's own `name` when it names itself
 * (TypeError, or a plain object's `name`), else its class (an Error subclass that does not set its
 * name, a class of the app's that does not extend Error), else, for a plain status object, which has
 * no class, the name of the status grpc-js made of it (`code` is the status the call ended with).
 */
function toException(error: unknown, code: number): Exception {
  if (typeof error !== 'object' || error === null) return String(error);
  const { name, message, details, stack } = error as {
    name?: unknown;
    message?: unknown;
    details?: unknown;
    stack?: unknown;
  };
  const text = typeof message === 'string' ? message : typeof details === 'string' ? details : undefined;
  const exception: { name: string; message?: string; stack?: string } = { name: exceptionType(error, name, code) };
  if (text !== undefined) exception.message = text;
  if (typeof stack === 'string') exception.stack = stack;
  return exception;
}

function exceptionType(error: object, name: unknown, code: number): string {
  const own = typeof name === 'string' && name !== '' ? name : undefined;
  if (own !== undefined && own !== 'Error') return own;
  const made = (error as { constructor?: unknown }).constructor;
  const className = typeof made === 'function' && made !== Object ? made.name : '';
  return className || own || statusName(code);
}

function createInstruments(
  createHistogram: CreateHistogram | undefined,
  side: Side,
  conventions: Conventions,
): SideInstruments {
  const direction = side === 'server' ? 'incoming' : 'outgoing';
  const oldDuration = conventions.old
    ? createHistogram?.(side === 'server' ? OLD.serverDuration : OLD.clientDuration, {
        description: `Duration of ${direction} gRPC calls.`,
        unit: 'ms',
      })
    : undefined;
  const stableDuration = conventions.stable
    ? createHistogram?.(side === 'server' ? STABLE.serverDuration : STABLE.clientDuration, {
        description: `Duration of ${direction} gRPC calls.`,
        unit: 's',
        boundaries: DURATION_BUCKETS_SECONDS,
      })
    : undefined;
  // Messages per RPC exist only in the old conventions; the stable ones removed them with no replacement.
  const perRpc = (name: string, description: string) =>
    conventions.old
      ? createHistogram?.(name, { description, unit: '{count}', boundaries: MESSAGE_COUNT_BUCKETS })
      : undefined;
  return {
    oldDuration,
    stableDuration,
    requestsPerRpc: perRpc(
      side === 'server' ? OLD.serverRequestsPerRpc : OLD.clientRequestsPerRpc,
      `Request messages per ${direction} streaming gRPC call.`,
    ),
    responsesPerRpc: perRpc(
      side === 'server' ? OLD.serverResponsesPerRpc : OLD.clientResponsesPerRpc,
      `Response messages per ${direction} streaming gRPC call.`,
    ),
  };
}
