/**
 * Sampling decided before a span exists, so that a call that will not be recorded costs no SDK span
 * and no per-call wiring for one (src/agent/grpc/call-telemetry.ts). The configured sampler is still
 * the one that decides, called once per span with what the SDK's Tracer.startSpan would give it: the
 * parent context, the trace id (the parent's, or a new one), the name, the kind and the attributes.
 *
 * - NOT_RECORD: the caller gets what the SDK's tracer returns for it, a non-recording span
 *   (trace.wrapSpanContext) over the same trace id, a new span id from the same id generator, flags
 *   00 and the sampler's trace state or the parent's.
 * - RECORD or RECORD_AND_SAMPLED: the ids and the decision are handed to the SDK's tracer, whose
 *   sampler and id generator are this module's (buildSampling in sampler.ts), and the tracer makes
 *   the span as it always does. The sampler is not asked twice: a trace-id ratio decided on a new
 *   trace id must see the span made with that id.
 */
import {
  type Attributes,
  type Context,
  type Link,
  SamplingDecision,
  type Span,
  type SpanContext,
  type SpanKind,
  TraceFlags,
  type Tracer,
  trace as traceApi,
} from '@opentelemetry/api';
import { isTracingSuppressed as isSuppressed } from '@opentelemetry/core';
import {
  type IdGenerator,
  type Sampler,
  type SamplingResult,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Config } from '../../env/index.ts';

// The API's and core's exports are getters in their CommonJS builds (two of them once bundled): the
// per-span path reads them once, here.
const trace = traceApi;
const isTracingSuppressed = isSuppressed;
const NOT_RECORD = SamplingDecision.NOT_RECORD;
const NONE = TraceFlags.NONE;
const SAMPLED_FLAG = TraceFlags.SAMPLED;
const RECORD_AND_SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const NO_LINKS: Link[] = [];

/**
 * What the spec's samplers (sampler.ts builds them by name) decide, without asking them through
 * their shouldSample, for the same answer: ParentBasedSampler with its default delegates follows a
 * valid parent's sampled flag, remote or local; the root decision is always on, always off, or the
 * SDK's TraceIdRatioBasedSampler on the trace id. test/grpc.sampling-decisions.test.ts holds this
 * to the SDK's samplers.
 */
interface KnownSampler {
  readonly parentBased: boolean;
  /** The root decision: true (always on), false (always off), or the ratio sampler. */
  readonly root: boolean | TraceIdRatioBasedSampler;
}

function knownSampler({ name, ratio }: Config['sampler']): KnownSampler {
  const parentBased = name.startsWith('parentbased_');
  const root = name.endsWith('always_on')
    ? true
    : name.endsWith('always_off')
      ? false
      : new TraceIdRatioBasedSampler(ratio);
  return { parentBased, root };
}

export class SpanDecisions {
  /** Given to the TracerProvider: the configured sampler, or the decision made ahead for the next span. */
  readonly providerSampler: Sampler;
  /** Given to the TracerProvider: the configured id generator, or the ids drawn ahead for the next span. */
  readonly providerIds: IdGenerator;

  private primedResult: SamplingResult | undefined = undefined;
  private primedSpanId: string | undefined = undefined;
  private primedTraceId: string | undefined = undefined;
  private probed = false;

  /** The last lean decision's span context parts (read by nonRecordingSpan, right after decide). */
  private traceId = '';
  private spanId = '';
  private traceState: SpanContext['traceState'] = undefined;

  /** The configured sampler when it is one of the spec's (decided here), else undefined (asked). */
  private readonly known: KnownSampler | undefined;

  constructor(
    private readonly sampler: Sampler,
    private readonly ids: IdGenerator,
    /** The configuration `sampler` was built from (sampler.ts); without it, `sampler` is asked every time. */
    config?: Config['sampler'],
  ) {
    this.known = config === undefined ? undefined : knownSampler(config);
    const decisions = this;
    this.providerSampler = {
      shouldSample(context, traceId, spanName, spanKind, attributes, links) {
        const primed = decisions.primedResult;
        if (primed !== undefined) {
          decisions.primedResult = undefined;
          return primed;
        }
        if (decisions.probed === false && spanName === PROBE) {
          decisions.probed = true;
          return { decision: NOT_RECORD };
        }
        return sampler.shouldSample(context, traceId, spanName, spanKind, attributes, links);
      },
      toString: () => sampler.toString(),
    };
    this.providerIds = {
      generateSpanId() {
        const primed = decisions.primedSpanId;
        if (primed === undefined) return ids.generateSpanId();
        decisions.primedSpanId = undefined;
        return primed;
      },
      generateTraceId() {
        const primed = decisions.primedTraceId;
        if (primed === undefined) return ids.generateTraceId();
        decisions.primedTraceId = undefined;
        return primed;
      },
    };
  }

  /**
   * Whether `tracer` is one of this provider's (another provider may have been registered first, as
   * Deno's with OTEL_DENO=true): asked once, by starting a span its sampler recognizes and drops.
   * The probe goes only to a registered provider of the SDK's class as bundled with the agent, so
   * that no other provider ever sees it.
   */
  decidesFor(tracer: Tracer): boolean {
    const registered = (trace.getTracerProvider() as { getDelegate?(): unknown }).getDelegate?.();
    if (!(registered instanceof TracerProvider)) return false;
    this.probed = false;
    try {
      tracer.startSpan(PROBE).end();
    } catch {
      return false;
    }
    return this.probed;
  }

  /**
   * Decides the next span of `tracer`'s. true: not recorded, take nonRecordingSpan(). false: the
   * tracer is to start the span, with the decision (if any) handed to it; call clear() after.
   */
  decide(parent: Context, name: string, kind: SpanKind, attributes: Attributes): boolean {
    // The SDK makes no ids and asks no sampler when tracing is suppressed; neither is done here.
    if (isTracingSuppressed(parent)) return false;
    const parentContext = trace.getSpanContext(parent);
    const spanId = this.ids.generateSpanId();
    let traceId: string;
    let traceState: SpanContext['traceState'];
    let root = false;
    if (parentContext === undefined || !trace.isSpanContextValid(parentContext)) {
      traceId = this.ids.generateTraceId();
      root = true;
    } else {
      traceId = parentContext.traceId;
      traceState = parentContext.traceState;
    }
    const { known } = this;
    const result =
      known === undefined
        ? this.sampler.shouldSample(parent, traceId, name, kind, attributes, NO_LINKS)
        : knownDecision(known, root ? undefined : parentContext, parent, traceId);
    if (result.decision === NOT_RECORD) {
      this.traceId = traceId;
      this.spanId = spanId;
      this.traceState = result.traceState ?? traceState;
      return true;
    }
    this.primedResult = result;
    this.primedSpanId = spanId;
    if (root) this.primedTraceId = traceId;
    return false;
  }

  /** The span the SDK's tracer returns for a NOT_RECORD decision: the span context alone. */
  nonRecordingSpan(): Span {
    return trace.wrapSpanContext({
      traceId: this.traceId,
      spanId: this.spanId,
      traceFlags: NONE,
      traceState: this.traceState,
    });
  }

  /** Drops a decision that no span took (the tracer threw before asking). */
  clear(): void {
    this.primedResult = undefined;
    this.primedSpanId = undefined;
    this.primedTraceId = undefined;
  }
}

const NOT_RECORDED: SamplingResult = Object.freeze({ decision: NOT_RECORD });

/** The decision of a known sampler for a span with this valid parent (or none) and trace id. */
function knownDecision(
  known: KnownSampler,
  parent: SpanContext | undefined,
  context: Context,
  traceId: string,
): SamplingResult {
  if (parent !== undefined && known.parentBased) {
    return (parent.traceFlags & SAMPLED_FLAG) !== 0 ? RECORD_AND_SAMPLED : NOT_RECORDED;
  }
  const { root } = known;
  if (root === true) return RECORD_AND_SAMPLED;
  if (root === false) return NOT_RECORDED;
  return root.shouldSample(context, traceId);
}

/** The probe span's name; never exported (dropped by the sampler) and not a valid RPC span name. */
const PROBE = '\0rpcplugin-telemetry.sampling-probe';
