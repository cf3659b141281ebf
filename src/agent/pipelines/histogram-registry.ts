/**
 * Explicit-bucket histograms for the agent's own per-call measurements (RPC durations, messages per
 * RPC), exported through the metric readers as MetricProducers.
 *
 * Why not the SDK's Histogram: each record() there hashes its attributes (the sorted keys and values
 * through JSON.stringify) to find the series, and reads the clock; in the gRPC benchmark that was
 * about 1.5 µs of each call. The agent's attribute objects are built once per method and status
 * code, so a series is found by the object itself, and a record is a few additions.
 *
 * What is exported is what the SDK's explicit-bucket aggregation would export for the same
 * measurements: bucket counts (a value falls in the first bucket whose bound is >= it), count,
 * sum, min and max; cumulative or delta as each reader asks; at most CARDINALITY_LIMIT series per
 * histogram, then one `otel.metric.overflow` series, as the SDK does.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type HistogramMetricData,
  InstrumentType,
  type MetricDescriptor,
  type MetricProducer,
  type MetricReader,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';

/** The SDK's default boundaries for a histogram without advice (sdk-metrics, ExplicitBucketHistogramAggregation). */
export const DEFAULT_BOUNDARIES: readonly number[] = [
  0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
];

/** The SDK's default cardinality limit per instrument and reader. */
const CARDINALITY_LIMIT = 2000;
const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

export interface HistogramOptions {
  readonly description: string;
  readonly unit: string;
  readonly boundaries?: readonly number[];
}

/** One series' measurements over an interval, or (a cumulative reader's total) since it began. */
class Accumulation {
  /** Recorded into since the interval began, if only NaN (the SDK reports such a series, with count 0). */
  touched = false;
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly counts: number[];

  constructor(
    buckets: number,
    public startTime: HrTime,
  ) {
    this.counts = new Array<number>(buckets).fill(0);
  }

  /** Adds an interval into this total, in the SDK's order of operations (so that sums agree to the bit). */
  merge(interval: Accumulation): void {
    this.touched ||= interval.touched;
    this.count += interval.count;
    this.sum += interval.sum;
    // Math.min and max, not comparisons: they tell -0 from 0 as the SDK's do.
    this.min = Math.min(this.min, interval.min);
    this.max = Math.max(this.max, interval.max);
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      (this.counts[bucket] as number) += interval.counts[bucket] as number;
    }
  }
}

/** One attribute set of one histogram: per reader, the interval being recorded (and a cumulative reader's total). */
export class HistogramSeries {
  /** Indexed like the registry's readers: what each has not collected yet. */
  readonly accumulations: Accumulation[];
  /** Indexed like the registry's readers: a cumulative reader's total of its past intervals. */
  readonly totals: (Accumulation | undefined)[] = [];

  constructor(
    private readonly boundaries: readonly number[],
    readers: number,
    readonly attributes: Attributes,
  ) {
    const start = hrTime();
    this.accumulations = Array.from({ length: readers }, () => new Accumulation(boundaries.length + 1, start));
  }

  record(value: number): void {
    if (Number.isNaN(value)) {
      // NaN falls in no bucket and is not counted, but the series is there (as in the SDK).
      for (const accumulation of this.accumulations) accumulation.touched = true;
      return;
    }
    const bucket = bucketOf(this.boundaries, value);
    for (const accumulation of this.accumulations) {
      accumulation.touched = true;
      accumulation.count++;
      accumulation.sum += value;
      accumulation.min = Math.min(value, accumulation.min);
      accumulation.max = Math.max(value, accumulation.max);
      (accumulation.counts[bucket] as number)++;
    }
  }
}

/** The first bucket whose upper bound is >= value; past the last bound, the overflow bucket. */
function bucketOf(boundaries: readonly number[], value: number): number {
  let low = 0;
  let high = boundaries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((boundaries[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class FastHistogram {
  private readonly byObject = new Map<Attributes, HistogramSeries>();
  private readonly byKey = new Map<string, HistogramSeries>();
  readonly boundaries: readonly number[];

  constructor(
    readonly name: string,
    readonly options: HistogramOptions,
    private readonly readers: number,
  ) {
    this.boundaries = options.boundaries ?? DEFAULT_BOUNDARIES;
  }

  /** The series of an attribute set: by the object itself when it was seen before, else by its contents. */
  series(attributes: Attributes): HistogramSeries {
    const known = this.byObject.get(attributes);
    if (known !== undefined) return known;
    const key = keyOf(attributes);
    let series = this.byKey.get(key);
    if (series === undefined) {
      if (this.byKey.size >= CARDINALITY_LIMIT - 1) return this.overflow();
      series = new HistogramSeries(this.boundaries, this.readers, attributes);
      this.byKey.set(key, series);
    }
    // Attribute objects built per call (not the agent's) must not grow this map without end.
    if (this.byObject.size < CARDINALITY_LIMIT) this.byObject.set(attributes, series);
    return series;
  }

  record(value: number, attributes: Attributes): void {
    // The SDK's Histogram drops a negative value before it reaches any series.
    if (value < 0) return;
    this.series(attributes).record(value);
  }

  all(): IterableIterator<HistogramSeries> {
    return this.byKey.values();
  }

  private overflow(): HistogramSeries {
    const key = keyOf(OVERFLOW_ATTRIBUTES);
    let series = this.byKey.get(key);
    if (series === undefined) {
      series = new HistogramSeries(this.boundaries, this.readers, OVERFLOW_ATTRIBUTES);
      this.byKey.set(key, series);
    }
    return series;
  }
}

/** The SDK's series key: the sorted keys with their values. */
function keyOf(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  return JSON.stringify(keys.map((key) => [key, attributes[key]]));
}

interface Scope {
  readonly name: string;
  readonly version?: string;
}

/**
 * The agent's fast histograms and the readers they are exported to. Readers are fixed when the
 * meter provider is made, before any instrumentation starts, so each series keeps one accumulation
 * per reader from its first record on.
 */
export class HistogramRegistry {
  private readonly scopes = new Map<Scope, FastHistogram[]>();
  private readonly producers: HistogramProducer[] = [];

  /** A producer for the next reader, to pass as one of its metricProducers; call bind() once the reader exists. */
  producer(): HistogramProducer {
    const producer = new HistogramProducer(this, this.producers.length);
    this.producers.push(producer);
    return producer;
  }

  /** Whether any reader takes these histograms (none: recording would be wasted). */
  get enabled(): boolean {
    return this.producers.length > 0;
  }

  create(scope: Scope, name: string, options: HistogramOptions): FastHistogram {
    const histogram = new FastHistogram(name, options, this.producers.length);
    const histograms = this.scopes.get(scope) ?? [];
    histograms.push(histogram);
    this.scopes.set(scope, histograms);
    return histogram;
  }

  /** What reader `index` reports now, by scope; delta readers start their next interval here. */
  collect(index: number, temporality: AggregationTemporality): ScopeMetrics[] {
    const now = hrTime();
    const scopeMetrics: ScopeMetrics[] = [];
    for (const [scope, histograms] of this.scopes) {
      const metrics: HistogramMetricData[] = [];
      for (const histogram of histograms) {
        const data = collectHistogram(histogram, index, temporality, now);
        if (data !== undefined) metrics.push(data);
      }
      if (metrics.length > 0) scopeMetrics.push({ scope, metrics });
    }
    return scopeMetrics;
  }
}

function collectHistogram(
  histogram: FastHistogram,
  index: number,
  temporality: AggregationTemporality,
  now: HrTime,
): HistogramMetricData | undefined {
  const delta = temporality === AggregationTemporality.DELTA;
  const buckets = histogram.boundaries.length + 1;
  const dataPoints: HistogramMetricData['dataPoints'] = [];
  for (const series of histogram.all()) {
    const interval = series.accumulations[index];
    if (interval === undefined) continue;
    // Records go on into a fresh interval; a cumulative reader adds the one that ended to its total.
    series.accumulations[index] = new Accumulation(buckets, now);
    let accumulation = interval;
    if (!delta) {
      accumulation = series.totals[index] ?? new Accumulation(buckets, interval.startTime);
      accumulation.merge(interval);
      series.totals[index] = accumulation;
    }
    if (!accumulation.touched) continue;
    const hasMinMax = accumulation.count > 0;
    dataPoints.push({
      attributes: series.attributes,
      startTime: accumulation.startTime,
      endTime: now,
      value: {
        min: hasMinMax ? accumulation.min : undefined,
        max: hasMinMax ? accumulation.max : undefined,
        sum: accumulation.sum,
        buckets: { boundaries: [...histogram.boundaries], counts: [...accumulation.counts] },
        count: accumulation.count,
      },
    });
  }
  if (dataPoints.length === 0) return undefined;
  const { description, unit, boundaries } = histogram.options;
  // What the SDK's collection carries for a histogram instrument (type and advice included).
  const descriptor: MetricDescriptor & { type: InstrumentType; advice: object } = {
    name: histogram.name,
    description,
    unit,
    type: InstrumentType.HISTOGRAM,
    valueType: ValueType.DOUBLE,
    advice: boundaries === undefined ? {} : { explicitBucketBoundaries: [...boundaries] },
  };
  return {
    descriptor,
    aggregationTemporality: temporality,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}

/** The registry as seen by one reader, with that reader's temporality for histograms. */
export class HistogramProducer implements MetricProducer {
  private temporality = AggregationTemporality.CUMULATIVE;

  constructor(
    private readonly registry: HistogramRegistry,
    private readonly index: number,
  ) {}

  bind(reader: MetricReader): void {
    this.temporality = reader.selectAggregationTemporality(InstrumentType.HISTOGRAM);
  }

  async collect(): Promise<CollectionResult> {
    const scopeMetrics = this.collectNow();
    // The reader takes the resource from the SDK's own collection; this one is never read.
    return { resourceMetrics: { resource: undefined as never, scopeMetrics }, errors: [] };
  }

  /** The same collection, synchronously (for the send at process.exit(), pipelines/collect-now.ts). */
  collectNow(): ScopeMetrics[] {
    return this.registry.collect(this.index, this.temporality);
  }
}
