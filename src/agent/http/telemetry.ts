/**
 * What every outgoing HTTP request records, whichever client made it (fetch, node:http): a client
 * span started when the request is made and ended when its response body ends or the request fails,
 * and one http.client.request.duration value from the same two clock readings.
 */
import {
  type Attributes,
  type Context,
  type Exception,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapSetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastHistogram, HistogramOptions } from '../pipelines/histogram-registry.ts';
import type { HeaderCapture, HeaderReader } from './headers.ts';
import {
  ATTR,
  CLIENT_DURATION,
  DURATION_BUCKETS_SECONDS,
  errorType,
  isErrorStatus,
  type MethodName,
  methodName,
} from './semconv.ts';
import { type Origin, originOf, redactUrl } from './url.ts';

/** What a client knows of a request when it is made. */
export interface RequestFacts {
  readonly method: string;
  /** `scheme://host[:port]`, from which server.address, server.port and url.scheme come. */
  readonly origin: string;
  /** The whole URL, recorded redacted as url.full. */
  readonly url: string;
  readonly headers: HeaderReader | undefined;
}

/** One request in flight. */
export class HttpCall {
  ended = false;
  /** The response's status code, once its headers arrived. */
  status: number | undefined = undefined;

  constructor(
    readonly span: Span,
    /** performance.now() at the start: the span and the histogram share it. */
    readonly start: number,
    readonly method: MethodName,
    readonly origin: Origin,
    /** The caller's context with the span in it: what is propagated. */
    readonly context: Context,
  ) {}
}

/** Makes one of the agent's fast histograms (pipelines/histogram-registry.ts). */
export type CreateHistogram = (name: string, options: HistogramOptions) => FastHistogram;

/** Metric attribute sets kept built; past this many distinct sets, each request builds its own. */
const MAX_METRIC_ATTRIBUTE_SETS = 2000;

export class HttpClientTelemetry {
  private readonly duration: FastHistogram | undefined;
  private readonly metricAttributes = new Map<string, Attributes>();

  constructor(
    private readonly tracer: Tracer,
    createHistogram: CreateHistogram | undefined,
    private readonly captureRequest: HeaderCapture,
    private readonly captureResponse: HeaderCapture,
    /** false when OTEL_PROPAGATORS=none: requests then go out with the app's headers only. */
    readonly propagates: boolean,
  ) {
    this.duration = createHistogram?.(CLIENT_DURATION, {
      description: 'Duration of HTTP client requests.',
      unit: 's',
      boundaries: DURATION_BUCKETS_SECONDS,
    });
  }

  start(facts: RequestFacts, parent: Context): HttpCall {
    const start = performance.now();
    const method = methodName(facts.method);
    const origin = originOf(facts.origin);
    let attributes: Attributes = {
      [ATTR.method]: method.value,
      [ATTR.serverAddress]: origin.address,
      [ATTR.urlFull]: redactUrl(facts.url),
      [ATTR.urlScheme]: origin.scheme,
    };
    if (origin.port !== undefined) attributes[ATTR.serverPort] = origin.port;
    if (method.original !== undefined) attributes[ATTR.methodOriginal] = method.original;
    if (this.captureRequest !== undefined && facts.headers !== undefined) {
      const captured = this.captureRequest(facts.headers);
      if (captured !== undefined) attributes = { ...attributes, ...captured };
    }
    const span = this.tracer.startSpan(
      method.spanName,
      { kind: SpanKind.CLIENT, attributes, startTime: start },
      parent,
    );
    return new HttpCall(span, start, method, origin, trace.setSpan(parent, span));
  }

  /** Writes the configured propagators' headers for `call` into `carrier`. */
  inject<Carrier>(call: HttpCall, carrier: Carrier, setter: TextMapSetter<Carrier>): void {
    if (this.propagates) propagation.inject(call.context, carrier, setter);
  }

  /** The response's headers arrived; the span goes on until its body ends. */
  respond(call: HttpCall, status: number, headers: HeaderReader | undefined): void {
    if (call.ended) return;
    call.status = status;
    const { span } = call;
    if (!span.isRecording()) return;
    span.setAttribute(ATTR.statusCode, status);
    if (this.captureResponse !== undefined && headers !== undefined) {
      const captured = this.captureResponse(headers);
      if (captured !== undefined) span.setAttributes(captured);
    }
  }

  /** The response body ended: the request is over, an error if its status says so. */
  end(call: HttpCall): void {
    if (call.ended) return;
    call.ended = true;
    const end = performance.now();
    const { span, status } = call;
    const failed = status !== undefined && isErrorStatus(status);
    const type = failed ? String(status) : undefined;
    this.record(call, end, type);
    if (type !== undefined && span.isRecording()) {
      span.setAttribute(ATTR.errorType, type);
      // No description: the conventions leave it empty when the status code says it all.
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(end);
  }

  /** The request failed (no connection, aborted, timed out, a body cut short): the span ends as an error. */
  fail(call: HttpCall, error: unknown): void {
    if (call.ended) return;
    call.ended = true;
    const end = performance.now();
    const type = errorType(error);
    this.record(call, end, type);
    const { span } = call;
    if (span.isRecording()) {
      span.setAttribute(ATTR.errorType, type);
      span.recordException(toException(error), end);
      const message = (error as { message?: unknown } | null)?.message;
      span.setStatus({ code: SpanStatusCode.ERROR, message: typeof message === 'string' ? message : undefined });
    }
    span.end(end);
  }

  private record(call: HttpCall, end: number, type: string | undefined): void {
    this.duration?.record((end - call.start) / 1000, this.metricAttributesOf(call, type));
  }

  /** The histogram's attributes: method, server, scheme, status and error.type, one object per distinct set. */
  private metricAttributesOf(call: HttpCall, type: string | undefined): Attributes {
    const { method, origin, status } = call;
    const key = `${method.value} ${origin.scheme}://${origin.address}:${origin.port} ${status} ${type}`;
    let attributes = this.metricAttributes.get(key);
    if (attributes !== undefined) return attributes;
    attributes = { [ATTR.method]: method.value, [ATTR.serverAddress]: origin.address, [ATTR.urlScheme]: origin.scheme };
    if (origin.port !== undefined) attributes[ATTR.serverPort] = origin.port;
    if (status !== undefined) attributes[ATTR.statusCode] = status;
    if (type !== undefined) attributes[ATTR.errorType] = type;
    if (this.metricAttributes.size < MAX_METRIC_ATTRIBUTE_SETS) this.metricAttributes.set(key, attributes);
    return attributes;
  }
}

function toException(error: unknown): Exception {
  if (typeof error !== 'object' || error === null) return String(error);
  // Without the error's `code`, which the SDK would record as exception.type (`ECONNREFUSED` is error.type's).
  const { name, message, stack } = error as { name?: unknown; message?: unknown; stack?: unknown };
  const exception: { name: string; message?: string; stack?: string } = {
    name: typeof name === 'string' && name !== '' ? name : (error.constructor?.name ?? 'Error'),
  };
  if (typeof message === 'string') exception.message = message;
  if (typeof stack === 'string') exception.stack = stack;
  return exception;
}
