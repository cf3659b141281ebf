/**
 * What the metrics line shows for each export: per service, the RPC duration percentiles and call
 * rate per method (from the rpc.{server,client}.duration histograms, or rpc.*.call.duration under
 * the current conventions), the process's memory and event-loop delay. Cumulative series are turned
 * into per-interval deltas against the previous export of the same series; the series kept for that
 * are bounded.
 */
import { serviceOf } from './model.ts';
import type { Attributes, DataPoint, Metric } from './otlp-types.ts';

export interface RpcDigest {
  /** `client` or `server`. */
  side: string;
  /** `package.Service/Method`. */
  method: string;
  /** Calls in this interval. */
  count: number;
  /** Calls per second over the interval, when the interval is known. */
  rate?: number;
  /** Milliseconds, estimated from the histogram's buckets. */
  p50?: number;
  p95?: number;
  p99?: number;
}

export interface MetricsDigest {
  service: string;
  rpc: RpcDigest[];
  memoryBytes?: number;
  eventLoopDelayP99Ms?: number;
}

const RPC_DURATIONS: Record<string, { side: string; toMs: number }> = {
  'rpc.server.duration': { side: 'server', toMs: 1 },
  'rpc.client.duration': { side: 'client', toMs: 1 },
  'rpc.server.call.duration': { side: 'server', toMs: 1000 },
  'rpc.client.call.duration': { side: 'client', toMs: 1000 },
};

const MAX_SERIES = 2000;

interface Histogram {
  count: number;
  bucketCounts: number[];
  explicitBounds: number[];
  min?: number;
  max?: number;
  seconds?: number;
}

export class MetricsDigester {
  /** The last cumulative point of each histogram series, to subtract from the next one. */
  private readonly previous = new Map<string, DataPoint>();

  digest(metrics: readonly Metric[]): MetricsDigest[] {
    const byService = new Map<string, MetricsDigest>();
    const digestOf = (service: string) => {
      let digest = byService.get(service);
      if (digest === undefined) {
        digest = { service, rpc: [] };
        byService.set(service, digest);
      }
      return digest;
    };
    for (const metric of metrics) {
      const service = serviceOf(metric);
      const rpc = RPC_DURATIONS[metric.name];
      if (rpc !== undefined && metric.type === 'histogram') {
        const toMs = metric.unit === 's' ? 1000 : metric.unit === 'ms' ? 1 : rpc.toMs;
        for (const point of metric.dataPoints) {
          const interval = this.interval(
            `${service}\u0000${metric.name}\u0000${seriesKey(point.attributes)}`,
            point,
            metric,
          );
          if (interval === undefined || interval.count === 0) continue;
          digestOf(service).rpc.push(rpcDigest(rpc.side, methodOf(point.attributes), interval, toMs));
        }
      } else if (metric.name === 'process.memory.usage') {
        const value = metric.dataPoints.at(-1)?.value;
        if (value !== undefined) digestOf(service).memoryBytes = Number(value);
      } else if (metric.name === 'nodejs.eventloop.delay.p99') {
        const value = metric.dataPoints.at(-1)?.value;
        if (value !== undefined)
          digestOf(service).eventLoopDelayP99Ms = Number(value) * (metric.unit === 'ms' ? 1 : 1000);
      }
    }
    for (const digest of byService.values())
      digest.rpc.sort((a, b) => a.method.localeCompare(b.method) || a.side.localeCompare(b.side));
    return [...byService.values()];
  }

  /** The histogram of this export's interval: the point itself when delta, else the difference to the last one. */
  private interval(key: string, point: DataPoint, metric: Metric): Histogram | undefined {
    const bucketCounts = point.bucketCounts ?? [];
    const explicitBounds = point.explicitBounds ?? [];
    const current: Histogram = { count: point.count ?? 0, bucketCounts, explicitBounds };
    if (point.min !== undefined) current.min = point.min;
    if (point.max !== undefined) current.max = point.max;
    const isCumulative = metric.temporality === 2;
    const before = isCumulative ? this.previous.get(key) : undefined;
    if (isCumulative) {
      this.previous.delete(key);
      this.previous.set(key, point);
      if (this.previous.size > MAX_SERIES) this.previous.delete(this.previous.keys().next().value as string);
    }
    const startNano = before?.timeUnixNano ?? point.startTimeUnixNano;
    if (startNano > 0n && point.timeUnixNano > startNano)
      current.seconds = Number(point.timeUnixNano - startNano) / 1e9;
    if (before === undefined || before.startTimeUnixNano !== point.startTimeUnixNano) return current;
    const previousCounts = before.bucketCounts ?? [];
    if (previousCounts.length !== bucketCounts.length) return current;
    // min and max are of the whole series, not of the interval: not used for a difference.
    const interval: Histogram = {
      count: current.count - (before.count ?? 0),
      bucketCounts: bucketCounts.map((count, i) => count - (previousCounts[i] ?? 0)),
      explicitBounds,
    };
    if (current.seconds !== undefined) interval.seconds = current.seconds;
    return interval;
  }
}

function seriesKey(attributes: Attributes): string {
  return JSON.stringify(
    Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)),
    (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value),
  );
}

function methodOf(attributes: Attributes): string {
  const service = attributes['rpc.service'];
  const method = attributes['rpc.method'];
  if (typeof service === 'string' && typeof method === 'string') return `${service}/${method}`;
  return typeof method === 'string' ? method : '(unknown method)';
}

function rpcDigest(side: string, method: string, histogram: Histogram, toMs: number): RpcDigest {
  const digest: RpcDigest = { side, method, count: histogram.count };
  if (histogram.seconds !== undefined && histogram.seconds > 0) digest.rate = histogram.count / histogram.seconds;
  for (const [name, q] of [
    ['p50', 0.5],
    ['p95', 0.95],
    ['p99', 0.99],
  ] as const) {
    const value = quantile(histogram, q);
    if (value !== undefined) digest[name] = value * toMs;
  }
  return digest;
}

/**
 * The q-quantile of an explicit-bucket histogram, interpolating linearly inside the bucket it falls
 * in (as Prometheus's histogram_quantile does); bucket i holds values in (bounds[i-1], bounds[i]].
 */
export function quantile(histogram: Histogram, q: number): number | undefined {
  const { count, bucketCounts, explicitBounds, min, max } = histogram;
  if (count <= 0 || bucketCounts.length === 0) return undefined;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < bucketCounts.length; i++) {
    const inBucket = bucketCounts[i] ?? 0;
    if (inBucket > 0 && seen + inBucket >= rank) {
      const lower = i === 0 ? Math.min(min ?? 0, explicitBounds[0] ?? 0) : (explicitBounds[i - 1] as number);
      const upper = i < explicitBounds.length ? (explicitBounds[i] as number) : (max ?? lower);
      const value = lower + (upper - lower) * ((rank - seen) / inBucket);
      return Math.min(Math.max(value, min ?? value), max ?? value);
    }
    seen += inBucket;
  }
  return max;
}
