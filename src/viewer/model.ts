/**
 * The trace model: spans and log records from any number of processes, grouped by trace id and
 * assembled into trees once a trace is complete. A trace is complete when its root span has
 * arrived (spans are exported when they end) and nothing more came for `settleMs`, or when nothing
 * came for `quietMs` (a trace whose root is in a process that has not exported yet). Spans whose
 * parent never arrived are shown as roots, marked. Memory is bounded: at most `maxTraces` traces
 * (the oldest are evicted and counted) and `maxSpansPerTrace` spans and log records per trace.
 */
import type { LogRecord, Span } from './otlp-types.ts';

export interface ModelLimits {
  maxTraces: number;
  maxSpansPerTrace: number;
  maxLogsPerTrace: number;
  /** A trace with no root yet is complete after this much silence. */
  quietMs: number;
  /** A trace with its root is complete after this much silence (other processes' spans may still be on the way). */
  settleMs: number;
}

export const DEFAULT_LIMITS: ModelLimits = {
  maxTraces: 1000,
  maxSpansPerTrace: 2000,
  maxLogsPerTrace: 2000,
  quietMs: 1000,
  settleMs: 200,
};

export interface SpanNode {
  span: Span;
  children: SpanNode[];
  logs: LogRecord[];
  /** True for a span whose parent span id is set but whose parent was not received. */
  parentMissing: boolean;
}

export interface AssembledTrace {
  traceId: string;
  roots: SpanNode[];
  /** Log records of the trace whose span was not received. */
  logs: LogRecord[];
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  spanCount: number;
  services: string[];
  droppedSpans: number;
  droppedLogs: number;
  /** How many times this trace was shown before (late spans or logs make it shown again). */
  shownBefore: number;
}

interface TraceEntry {
  traceId: string;
  spans: Map<string, Span>;
  logs: LogRecord[];
  lastChangeMs: number;
  hasRoot: boolean;
  shown: number;
  pending: boolean;
  droppedSpans: number;
  droppedLogs: number;
}

export interface Accepted {
  /** Items refused (invalid ids, or over a trace's limit), for the OTLP partial success answer. */
  rejected: number;
  rejectedReason: string;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = '0'.repeat(32);

export function serviceOf(item: { resource: Record<string, unknown> }): string {
  const name = item.resource['service.name'];
  return typeof name === 'string' && name !== '' ? name : 'unknown_service';
}

export class TraceModel {
  private readonly traces = new Map<string, TraceEntry>();
  /** Traces evicted to keep within maxTraces. */
  evicted = 0;

  constructor(
    readonly limits: ModelLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.traces.size;
  }

  addSpans(spans: readonly Span[]): Accepted {
    let rejected = 0;
    const reasons = new Set<string>();
    for (const span of spans) {
      if (!TRACE_ID.test(span.traceId) || span.traceId === ZERO_TRACE_ID || !SPAN_ID.test(span.spanId)) {
        rejected++;
        reasons.add('a span has an invalid trace or span id');
        continue;
      }
      const entry = this.entry(span.traceId);
      if (!entry.spans.has(span.spanId) && entry.spans.size >= this.limits.maxSpansPerTrace) {
        entry.droppedSpans++;
        rejected++;
        reasons.add(`a trace has more than ${this.limits.maxSpansPerTrace} spans`);
        continue;
      }
      entry.spans.set(span.spanId, span);
      if (span.parentSpanId === '') entry.hasRoot = true;
      this.touch(entry);
    }
    return { rejected, rejectedReason: [...reasons].join('; ') };
  }

  /** Keeps the records of a trace; returns those that belong to none, to be shown on their own. */
  addLogs(logs: readonly LogRecord[]): Accepted & { standalone: LogRecord[] } {
    const standalone: LogRecord[] = [];
    let rejected = 0;
    for (const record of logs) {
      if (!TRACE_ID.test(record.traceId) || record.traceId === ZERO_TRACE_ID) {
        standalone.push(record);
        continue;
      }
      const entry = this.entry(record.traceId);
      if (entry.logs.length >= this.limits.maxLogsPerTrace) {
        entry.droppedLogs++;
        rejected++;
        continue;
      }
      entry.logs.push(record);
      this.touch(entry);
    }
    const rejectedReason = rejected > 0 ? `a trace has more than ${this.limits.maxLogsPerTrace} log records` : '';
    return { standalone, rejected, rejectedReason };
  }

  /** The traces that became complete since the last call, oldest first. */
  takeComplete(): AssembledTrace[] {
    const now = this.now();
    const ready: AssembledTrace[] = [];
    for (const entry of this.traces.values()) {
      if (!entry.pending) continue;
      const quiet = now - entry.lastChangeMs;
      if (quiet >= (entry.hasRoot ? this.limits.settleMs : this.limits.quietMs)) ready.push(this.show(entry));
    }
    return ready.sort(byTraceStart);
  }

  /** Every trace not shown yet, complete or not (when the viewer stops). */
  takePending(): AssembledTrace[] {
    return [...this.traces.values()]
      .filter((entry) => entry.pending)
      .map((entry) => this.show(entry))
      .sort(byTraceStart);
  }

  /** Every trace kept, assembled, oldest first (for reports). */
  all(): AssembledTrace[] {
    return [...this.traces.values()].map((entry) => assemble(entry)).sort(byTraceStart);
  }

  private show(entry: TraceEntry): AssembledTrace {
    entry.pending = false;
    const assembled = assemble(entry);
    entry.shown++;
    return assembled;
  }

  private entry(traceId: string): TraceEntry {
    const existing = this.traces.get(traceId);
    if (existing !== undefined) return existing;
    const entry: TraceEntry = {
      traceId,
      spans: new Map(),
      logs: [],
      lastChangeMs: this.now(),
      hasRoot: false,
      shown: 0,
      pending: true,
      droppedSpans: 0,
      droppedLogs: 0,
    };
    this.traces.set(traceId, entry);
    // A Map iterates in insertion order: the first key is the oldest trace.
    while (this.traces.size > this.limits.maxTraces) {
      const oldest = this.traces.keys().next().value as string;
      this.traces.delete(oldest);
      this.evicted++;
    }
    return entry;
  }

  private touch(entry: TraceEntry): void {
    entry.lastChangeMs = this.now();
    entry.pending = true;
  }
}

const byStart = (a: { span: Span }, b: { span: Span }) =>
  a.span.startTimeUnixNano < b.span.startTimeUnixNano
    ? -1
    : a.span.startTimeUnixNano > b.span.startTimeUnixNano
      ? 1
      : 0;
const byTraceStart = (a: AssembledTrace, b: AssembledTrace) =>
  a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0;
const byTime = (a: LogRecord, b: LogRecord) => (logTime(a) < logTime(b) ? -1 : logTime(a) > logTime(b) ? 1 : 0);

/** A record's time, or when it was observed when the source gave none. */
export function logTime(record: LogRecord): bigint {
  return record.timeUnixNano === 0n ? record.observedTimeUnixNano : record.timeUnixNano;
}

function assemble(entry: TraceEntry): AssembledTrace {
  const nodes = new Map<string, SpanNode>();
  for (const span of entry.spans.values()) {
    nodes.set(span.spanId, { span, children: [], logs: [], parentMissing: false });
  }
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanId === '' ? undefined : nodes.get(node.span.parentSpanId);
    if (parent !== undefined && parent !== node) parent.children.push(node);
    else {
      node.parentMissing = node.span.parentSpanId !== '';
      roots.push(node);
    }
  }
  breakCycles(nodes, roots);
  const traceLogs: LogRecord[] = [];
  for (const record of entry.logs) {
    const node = nodes.get(record.spanId);
    if (node === undefined) traceLogs.push(record);
    else node.logs.push(record);
  }
  let start: bigint | undefined;
  let end: bigint | undefined;
  for (const node of nodes.values()) {
    node.children.sort(byStart);
    node.logs.sort(byTime);
    const { startTimeUnixNano, endTimeUnixNano } = node.span;
    if (start === undefined || startTimeUnixNano < start) start = startTimeUnixNano;
    if (end === undefined || endTimeUnixNano > end) end = endTimeUnixNano;
  }
  traceLogs.sort(byTime);
  for (const record of traceLogs) {
    const time = logTime(record);
    if (start === undefined || time < start) start = time;
    if (end === undefined || time > end) end = time;
  }
  roots.sort(byStart);
  // In the order the tree shows them: the root's service first.
  const services = new Set<string>();
  for (const { node } of walk(roots)) services.add(serviceOf(node.span));
  return {
    traceId: entry.traceId,
    roots,
    logs: traceLogs,
    startTimeUnixNano: start ?? 0n,
    endTimeUnixNano: end ?? 0n,
    spanCount: nodes.size,
    services: [...services],
    droppedSpans: entry.droppedSpans,
    droppedLogs: entry.droppedLogs,
    shownBefore: entry.shown,
  };
}

/** Spans whose parent links form a cycle reach no root: each such span becomes a root, its link cut. */
function breakCycles(nodes: Map<string, SpanNode>, roots: SpanNode[]): void {
  const reached = new Set<SpanNode>();
  const mark = (node: SpanNode) => {
    const stack = [node];
    while (stack.length > 0) {
      const next = stack.pop() as SpanNode;
      if (reached.has(next)) continue;
      reached.add(next);
      stack.push(...next.children);
    }
  };
  for (const root of roots) mark(root);
  for (const node of nodes.values()) {
    if (reached.has(node)) continue;
    const parent = nodes.get(node.span.parentSpanId);
    if (parent !== undefined) parent.children.splice(parent.children.indexOf(node), 1);
    node.parentMissing = true;
    roots.push(node);
    mark(node);
  }
}

/** Depth-first, children in start order: the order the renderers draw spans in. */
export function* walk(roots: readonly SpanNode[], depth = 0): Generator<{ node: SpanNode; depth: number }> {
  for (const node of roots) {
    yield { node, depth };
    yield* walk(node.children, depth + 1);
  }
}
