/**
 * A real OTLP/HTTP receiver for the tests: what a collector would see of the agent's telemetry.
 *
 * Requests are decoded by the viewer's decoders (src/viewer/otlp-decode.ts, what `rpcplugin-telemetry
 * tail` runs): one decoding path for both. That path is checked value for value against the official
 * opentelemetry-proto definitions (protobufjs, test/support/otlp-reference.ts) by
 * test/viewer.otlp-decode.test.ts, so a bug in the agent's encoder cannot hide behind the same bug
 * in the decoder. OTLP/protobuf and OTLP/JSON are both accepted and normalised to one plain shape
 * (lowercase hex ids, unwrapped attribute values, bigint timestamps), so a test asserts the same way
 * whatever protocol the agent was configured with.
 *
 * Fault modes for "collector down" tests: answer with an error status, accept and never answer
 * (`hang`), or nothing listening at all (`closedPort()`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeExportRequest } from '../../src/viewer/otlp-decode.ts';
import {
  type AttributeValue,
  type DataPoint,
  type DecodedRequest,
  type Encoding,
  type LogRecord,
  MalformedRequest,
  type Metric,
  type Signal,
  type Span,
  type SpanEvent,
  type SpanLink,
} from '../../src/viewer/otlp-types.ts';

// ---------------------------------------------------------------------------------------------
// The normalised shape tests assert on
// ---------------------------------------------------------------------------------------------

export type {
  Attributes,
  AttributeValue,
  Encoding,
  ExponentialBuckets,
  MetricType,
  Scope,
  Signal,
} from '../../src/viewer/otlp-types.ts';
/** The decoder itself, for the OTLP/gRPC receiver and for tests that decode a body they captured. */
export { decodeExportRequest };

/** Proto enum values, as they appear in the normalised shape (numbers, as on the wire). */
export const SpanKind = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export const AggregationTemporality = { UNSPECIFIED: 0, DELTA: 1, CUMULATIVE: 2 } as const;
/** Span.flags bits (proto v1.4+): the low byte is the W3C trace flags. */
export const SpanFlags = { SAMPLED: 0x01, CONTEXT_HAS_IS_REMOTE: 0x100, CONTEXT_IS_REMOTE: 0x200 } as const;

export type ReceivedSpanEvent = SpanEvent;
export type ReceivedSpanLink = SpanLink;
/** `kind` as in `SpanKind`, `status.code` as in `StatusCode`, `flags` as in `SpanFlags` (0 when not sent). */
export type ReceivedSpan = Span;
/** One data point; which of the optional fields are present depends on the metric's type. */
export type ReceivedDataPoint = DataPoint;
/** `temporality` (sum, histogram, exponentialHistogram) as in `AggregationTemporality`. */
export type ReceivedMetric = Metric;
/** `body` is null when the record has none; `traceId`/`spanId`/`eventName` are '' when not sent. */
export type ReceivedLogRecord = LogRecord;

/** One HTTP request as received, with what was decoded from it. */
export interface ReceivedRequest extends DecodedRequest {
  method: string;
  /** The URL path, without the query string. */
  path: string;
  /** Lowercase names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The Content-Type header as sent ('' if none). */
  contentType: string;
  /** The Content-Encoding header as sent ('' if none). */
  contentEncoding: string;
  /** Which signal the path is routed to, if any. */
  signal?: Signal;
  /** How the body was decoded, if its content type is an OTLP one. */
  encoding?: Encoding;
  /** Size of the body after decompression. */
  bodyBytes: number;
  /** The status the receiver answered with; null if it never answered (hang mode). */
  status: number | null;
  /** Why the request was rejected (wrong path, method, media type, undecodable body). */
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// The HTTP server
// ---------------------------------------------------------------------------------------------

/** Fresh arrays each time: records must not share mutable state. */
const nothing = (): DecodedRequest => ({ spans: [], metrics: [], logs: [] });

/** How the receiver answers export requests: 200 with an empty Export*ServiceResponse, or an error status. */
export type Respond = 'ok' | { status: number; headers?: Record<string, string>; body?: string };

export interface Behaviour {
  respond?: Respond;
  /**
   * Read, decode and record each export request, then never answer (a collector stuck behind a load
   * balancer). Requests that are rejected (wrong path, media type, body) are still answered.
   */
  hang?: boolean;
}

export interface OtlpReceiverOptions extends Behaviour {
  /** The path each signal is served on; the OTLP defaults /v1/traces, /v1/metrics, /v1/logs unless given. */
  paths?: Partial<Record<Signal, string>>;
  /** Serve HTTPS with this key and certificate; with `ca`, a client certificate it signed is required. */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer };
}

export interface WaitOptions {
  /** 10 s by default. */
  timeoutMs?: number;
  /** What is awaited, for the timeout message; the predicate's source by default. */
  description?: string;
}

export const DEFAULT_PATHS: Readonly<Record<Signal, string>> = {
  traces: '/v1/traces',
  metrics: '/v1/metrics',
  logs: '/v1/logs',
};

const MEDIA_TYPES: Readonly<Record<string, Encoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

export class OtlpReceiver {
  /** Every request received, decoded, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** Base URL, e.g. http://127.0.0.1:40123; append /v1/traces etc. for per-signal endpoints. */
  readonly url: string;
  readonly paths: Readonly<Record<Signal, string>>;

  private behaviour: Required<Behaviour>;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(
    private readonly server: Server,
    options: OtlpReceiverOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.paths = { ...DEFAULT_PATHS, ...options.paths };
    this.behaviour = { respond: options.respond ?? 'ok', hang: options.hang ?? false };
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.receive(request, response));
  }

  /** The full endpoint URL of one signal, e.g. http://127.0.0.1:40123/v1/traces. */
  endpoint(signal: Signal): string {
    return this.url + this.paths[signal];
  }

  /** Changes how later requests are answered (a collector that fails, then recovers). */
  configure(behaviour: Behaviour): void {
    this.behaviour = { ...this.behaviour, ...behaviour };
  }

  spans(): ReceivedSpan[] {
    return this.requests.flatMap((request) => request.spans);
  }

  metrics(): ReceivedMetric[] {
    return this.requests.flatMap((request) => request.metrics);
  }

  logs(): ReceivedLogRecord[] {
    return this.requests.flatMap((request) => request.logs);
  }

  /** Forgets what was received so far. */
  clear(): void {
    this.requests.length = 0;
  }

  /** Waits until `service` has sent a span of each of `names`; resolves with every span of that service. */
  waitForServiceSpans(service: string, names: readonly string[], options: WaitOptions = {}): Promise<ReceivedSpan[]> {
    return this.waitFor(
      (receiver) => {
        const ours = receiver.spans().filter((span) => span.resource['service.name'] === service);
        return names.every((name) => ours.some((span) => span.name === name)) && ours;
      },
      { description: `${names.join(', ')} from ${service}`, ...options },
    );
  }

  /**
   * Resolves with the predicate's first truthy result, checked now and after every request;
   * rejects on timeout (or close) with what was received, so a failing test says what it got.
   */
  waitFor<T>(
    predicate: (receiver: OtlpReceiver) => T,
    options: WaitOptions = {},
  ): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
    const { timeoutMs = 10_000, description = predicate.toString() } = options;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          let result: T;
          try {
            result = predicate(this);
          } catch (error) {
            waiter.fail(error as Error);
            return;
          }
          if (!result) return;
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve(result as Exclude<T, false | 0 | '' | null | undefined>);
        },
        fail: (error) => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(
        () => waiter.fail(new Error(`timed out after ${timeoutMs} ms waiting for ${description}\n${this.describe()}`)),
        timeoutMs,
      );
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** A readable summary of everything received, for assertion messages. */
  describe(): string {
    if (this.requests.length === 0) return `the receiver at ${this.url} received nothing`;
    const lines = this.requests.map((request) => {
      const answer = request.status === null ? 'not answered' : String(request.status);
      const head = `${request.method} ${request.path} [${request.encoding ?? (request.contentType || 'no content type')}] → ${answer}`;
      if (request.error !== undefined) return `${head}: ${request.error}`;
      const content = [
        ...request.spans.map((span) => `span ${span.name}`),
        ...request.metrics.map((metric) => `metric ${metric.name} (${metric.type})`),
        ...request.logs.map((record) => `log ${show(record.body)}`),
      ];
      return `${head}: ${content.length === 0 ? 'empty' : content.join(', ')}`;
    });
    return `the receiver at ${this.url} received ${this.requests.length} request(s):\n  ${lines.join('\n  ')}`;
  }

  /** Stops listening and destroys open connections (hung ones too), so it never outlives a test. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    for (const waiter of this.waiters) waiter.fail(new Error(`the receiver was closed\n${this.describe()}`));
    await closing;
  }

  private receive(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', () => {
      // The client went away mid-request (an exporter timing out); there is nothing to record.
    });
    request.on('end', () => {
      // Never throw inside the server: whatever goes wrong becomes a recorded 400/500.
      let record: ReceivedRequest;
      try {
        record = this.decode(request, Buffer.concat(chunks));
      } catch (error) {
        record = { ...this.envelope(request), bodyBytes: 0, status: 500, error: String(error), ...nothing() };
      }
      this.requests.push(record);
      this.answer(record, response);
      for (const waiter of [...this.waiters]) waiter.check();
    });
  }

  private envelope(
    request: IncomingMessage,
  ): Pick<ReceivedRequest, 'method' | 'path' | 'headers' | 'contentType' | 'contentEncoding'> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return {
      method: request.method ?? '',
      path: new URL(request.url ?? '/', 'http://receiver').pathname,
      headers,
      contentType: headers['content-type'] ?? '',
      contentEncoding: headers['content-encoding'] ?? '',
    };
  }

  /** Checks, in the order a collector does: route, method, media type, encoding, then the body itself. */
  private decode(request: IncomingMessage, received: Buffer): ReceivedRequest {
    const envelope = this.envelope(request);
    const signal = (Object.keys(this.paths) as Signal[]).find((name) => this.paths[name] === envelope.path);
    const mediaType = envelope.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const encoding = MEDIA_TYPES[mediaType];
    const rejected = (status: number, error: string): ReceivedRequest => ({
      ...envelope,
      ...(signal === undefined ? {} : { signal }),
      ...(encoding === undefined ? {} : { encoding }),
      bodyBytes: received.length,
      status,
      error,
      ...nothing(),
    });

    if (signal === undefined) return rejected(404, `no OTLP signal is served on ${envelope.path}`);
    if (envelope.method !== 'POST') return rejected(405, `OTLP/HTTP takes POST, not ${envelope.method}`);
    if (encoding === undefined)
      return rejected(415, `unsupported content type ${JSON.stringify(envelope.contentType)}`);
    let body: Buffer;
    const contentEncoding = envelope.contentEncoding.trim().toLowerCase();
    if (contentEncoding === 'gzip') {
      try {
        body = gunzipSync(received);
      } catch (error) {
        return rejected(400, `invalid gzip body: ${(error as Error).message}`);
      }
    } else if (contentEncoding === '' || contentEncoding === 'identity') {
      body = received;
    } else {
      return rejected(415, `unsupported content encoding ${JSON.stringify(envelope.contentEncoding)}`);
    }

    try {
      const decoded = decodeExportRequest(signal, encoding, body);
      const status = this.behaviour.hang ? null : this.behaviour.respond === 'ok' ? 200 : this.behaviour.respond.status;
      return { ...envelope, signal, encoding, bodyBytes: body.length, status, ...decoded };
    } catch (error) {
      if (!(error instanceof MalformedRequest)) throw error;
      return { ...rejected(400, error.message), bodyBytes: body.length };
    }
  }

  private answer(record: ReceivedRequest, response: ServerResponse): void {
    if (record.status === null) return; // hang: the socket stays open until the client gives up or close()
    if (record.error !== undefined) {
      response.writeHead(record.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(record.error);
      return;
    }
    const { respond } = this.behaviour;
    if (respond !== 'ok') {
      response.writeHead(respond.status, { 'Content-Type': 'text/plain; charset=utf-8', ...respond.headers });
      response.end(respond.body ?? `receiver configured to answer ${respond.status}`);
      return;
    }
    // The empty Export*ServiceResponse: no partial_success, every item accepted.
    if (record.encoding === 'json') {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    } else {
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end();
    }
  }
}

/** JSON, but total: bigints and byte arrays (which JSON.stringify rejects or spells out) are shown briefly. */
function show(value: AttributeValue): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    typeof field === 'bigint' ? `${field}n` : field instanceof Uint8Array ? `<${field.length} bytes>` : field,
  );
}

/** Listens on a free port of 127.0.0.1; rejects with the listen error. */
export function listenOnLoopback(server: NetServer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts a receiver on 127.0.0.1, on a free port. */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const { tls } = options;
  const server = tls
    ? createHttpsServer({ ...tls, requestCert: tls.ca !== undefined, rejectUnauthorized: tls.ca !== undefined })
    : createServer();
  await listenOnLoopback(server);
  // A test that forgets close() must not keep its process alive forever: whatever a test awaits
  // (a child process, an export, waitFor's timer) keeps the event loop running on its own.
  server.unref();
  return new OtlpReceiver(server, options);
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago): a collector that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
