/**
 * What the telemetry of one RPC method needs, built once per method and side: the span name, the
 * span attributes and, per status code, the metric attributes. Per call, nothing is formatted and
 * no attribute object is built (docs/architecture.md, "Rules": hot paths without per-call allocations).
 */
import type { Attributes } from '@opentelemetry/api';
import type { RpcConventions } from '../../env/index.ts';
import { GRPC, OLD, OTHER, SERVER_ADDRESS, SERVER_PORT, STABLE, statusName } from './semconv.ts';

export type Side = 'client' | 'server';

/** Which conventions are emitted (OTEL_SEMCONV_STABILITY_OPT_IN): old, stable, or both (rpc/dup). */
export interface Conventions {
  readonly old: boolean;
  readonly stable: boolean;
}

export function conventionsOf(setting: RpcConventions): Conventions {
  return { old: setting !== 'stable', stable: setting !== 'old' };
}

/** Where a call goes (client) or came in (server): server.address and server.port. */
export interface Endpoint {
  readonly address: string;
  readonly port: number | undefined;
}

/** Per status code and per endpoint caches are bounded: an odd peer cannot make them grow without end. */
const MAX_ENDPOINTS_PER_METHOD = 32;

export class RpcMethod {
  /** Calls in progress, observed by the active-calls counter. */
  active = 0;
  /** Whether a call of this method was ever seen (the active-calls counter reports it from then on). */
  seen = false;
  readonly spanName: string;
  readonly spanAttributes: Attributes;
  /** Attributes of the active-calls counter (no status code). */
  readonly activeAttributes: Attributes;
  private readonly oldMetricBase: Attributes;
  private readonly stableMetricBase: Attributes;
  private readonly oldMetrics: Attributes[] = [];
  private readonly stableMetrics: Attributes[] = [];
  private readonly byEndpoint = new Map<Endpoint, Attributes>();

  constructor(
    readonly side: Side,
    /** The gRPC path, `/package.Service/Method`. */
    readonly path: string,
    /** false for a method the server did not register (or past the client's table limit): `_OTHER`. */
    readonly known: boolean,
    readonly requestStream: boolean,
    readonly responseStream: boolean,
    conventions: Conventions,
  ) {
    const parsed = known ? parsePath(path) : undefined;
    const service = parsed?.service ?? OTHER;
    const method = parsed?.method ?? OTHER;
    const full = parsed === undefined ? OTHER : `${parsed.service}/${parsed.method}`;
    this.spanName = parsed === undefined ? GRPC : full;
    this.oldMetricBase = { [OLD.system]: GRPC, [OLD.service]: service, [OLD.method]: method };
    this.stableMetricBase = { [STABLE.systemName]: GRPC, [STABLE.method]: full };
    const span: Attributes = {};
    if (conventions.old) Object.assign(span, this.oldMetricBase);
    // Under rpc/dup the two rpc.method values clash: the stable one wins on spans (as in the Java agent).
    if (conventions.stable) Object.assign(span, this.stableMetricBase);
    this.spanAttributes = span;
    this.activeAttributes = conventions.stable ? this.stableMetricBase : this.oldMetricBase;
  }

  get streaming(): boolean {
    return this.requestStream || this.responseStream;
  }

  /** Span attributes at creation time, with the endpoint when it is known. */
  spanAttributesAt(endpoint: Endpoint | undefined): Attributes {
    if (endpoint === undefined) return this.spanAttributes;
    let attributes = this.byEndpoint.get(endpoint);
    if (attributes === undefined) {
      attributes = { ...this.spanAttributes, [SERVER_ADDRESS]: endpoint.address };
      if (endpoint.port !== undefined) attributes[SERVER_PORT] = endpoint.port;
      if (this.byEndpoint.size < MAX_ENDPOINTS_PER_METHOD) this.byEndpoint.set(endpoint, attributes);
    }
    return attributes;
  }

  /** rpc.client.duration / rpc.server.duration attributes (v1.37.0) for a status code. */
  oldMetricAttributes(code: number): Attributes {
    let attributes = this.oldMetrics[code];
    if (attributes === undefined) {
      attributes = { ...this.oldMetricBase, [OLD.statusCode]: code };
      if (isSmallCode(code)) this.oldMetrics[code] = attributes;
    }
    return attributes;
  }

  /** rpc.client.call.duration / rpc.server.call.duration attributes (v1.45.0) for a status code. */
  stableMetricAttributes(code: number, error: boolean): Attributes {
    const slot = error ? code + 32 : code;
    let attributes = this.stableMetrics[slot];
    if (attributes === undefined) {
      const name = statusName(code);
      attributes = { ...this.stableMetricBase, [STABLE.statusCode]: name };
      if (error) attributes[STABLE.errorType] = name;
      if (isSmallCode(code)) this.stableMetrics[slot] = attributes;
    }
    return attributes;
  }
}

function isSmallCode(code: number): boolean {
  return Number.isInteger(code) && code >= 0 && code < 32;
}

/** `/package.Service/Method` → its service and method; undefined when the path has another shape. */
export function parsePath(path: string): { service: string; method: string } | undefined {
  if (path.charCodeAt(0) !== 47 /* / */) return undefined;
  const slash = path.indexOf('/', 1);
  if (slash <= 1 || slash === path.length - 1 || path.indexOf('/', slash + 1) !== -1) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

/** The client's methods are what its stubs call; a table bounded in size in case an app invents paths. */
const MAX_CLIENT_METHODS = 1000;

/** The methods of one side, by path. */
export class MethodTable {
  private readonly methods = new Map<string, RpcMethod>();
  private other: RpcMethod | undefined;

  constructor(
    private readonly side: Side,
    private readonly conventions: Conventions,
  ) {}

  /** The method at `path`, made on first use; past the table's limit, the shared `_OTHER` method. */
  get(path: string, requestStream: boolean, responseStream: boolean): RpcMethod {
    const found = this.methods.get(path);
    if (found !== undefined) return found;
    if (this.methods.size >= MAX_CLIENT_METHODS) return this.unknown();
    const method = new RpcMethod(this.side, path, true, requestStream, responseStream, this.conventions);
    this.methods.set(path, method);
    return method;
  }

  /** The one `_OTHER` method of this side: for paths nobody registered. */
  unknown(): RpcMethod {
    this.other ??= new RpcMethod(this.side, OTHER, false, false, false, this.conventions);
    return this.other;
  }

  all(): IterableIterator<RpcMethod> {
    return this.methods.values();
  }

  otherMethod(): RpcMethod | undefined {
    return this.other;
  }
}
