/**
 * The agent's fast histograms (src/agent/pipelines/histogram-registry.ts) export what the SDK's histogram exports for
 * the same measurements: the same buckets, count, sum, min and max per attribute set, cumulative and
 * delta, over several collections. Both are read by the same SDK MetricReaders, side by side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Attributes, Histogram } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  MeterProvider,
  MetricReader,
  type MetricReaderOptions,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { DEFAULT_BOUNDARIES, HistogramRegistry } from '../src/agent/pipelines/histogram-registry.ts';

class ManualReader extends MetricReader {
  constructor(options: MetricReaderOptions) {
    super(options);
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const SDK_SCOPE = 'sdk';
const FAST_SCOPE = { name: 'fast' };
const ATTRIBUTE_SETS: readonly Attributes[] = [
  { 'rpc.method': 'Get', 'rpc.grpc.status_code': 0 },
  { 'rpc.method': 'Get', 'rpc.grpc.status_code': 5 },
  { 'rpc.grpc.status_code': 0, 'rpc.method': 'Put' },
  {},
];

/** One collection (a delta reader starts its next interval here). */
async function collect(reader: MetricReader): Promise<ResourceMetrics> {
  return (await reader.collect()).resourceMetrics;
}

/** Every data point of one scope's only metric, by attribute set, as comparable values. */
function pointsOf(resourceMetrics: ResourceMetrics, scope: string) {
  const metrics = resourceMetrics.scopeMetrics.filter((entry) => entry.scope.name === scope).flatMap((s) => s.metrics);
  assert.ok(metrics.length <= 1, `${scope}: one metric at most`);
  const metric = metrics[0];
  if (metric === undefined) return { temporality: undefined, points: [] };
  const points = (metric.dataPoints as DataPoint<unknown>[])
    .map((point) => ({ attributes: point.attributes, value: point.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
  return { temporality: metric.aggregationTemporality, points, descriptor: metric.descriptor };
}

const measurement = fc.record({
  value: fc.oneof(
    fc.double({ min: -1, max: 20_000, noNaN: true }),
    fc.constantFrom(0, -0, 5, 10, 10000, 10000.5, 0.005, 0.0051, 1, 2, 1024),
    fc.constant(Number.NaN),
  ),
  set: fc.integer({ min: 0, max: ATTRIBUTE_SETS.length - 1 }),
  // The agent passes the same object each time; other callers may build a new one per call.
  copy: fc.boolean(),
});

for (const temporality of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
  const name = temporality === AggregationTemporality.DELTA ? 'delta' : 'cumulative';
  describe(`fast histograms export what the SDK exports (${name})`, () => {
    for (const boundaries of [undefined, [0.005, 0.01, 0.1, 1, 10], [1, 2, 4, 8, 1024]]) {
      test(`boundaries ${boundaries === undefined ? 'by default' : boundaries.join(',')}`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(measurement, { maxLength: 60 }), { minLength: 1, maxLength: 4 }),
            async (rounds) => {
              const registry = new HistogramRegistry();
              const producer = registry.producer();
              const reader = new ManualReader({
                aggregationTemporalitySelector: () => temporality,
                metricProducers: [producer],
              });
              producer.bind(reader);
              const provider = new MeterProvider({ readers: [reader] });
              const options = { description: 'd', unit: 'ms' };
              const sdk: Histogram = provider
                .getMeter(SDK_SCOPE)
                .createHistogram(
                  'h',
                  boundaries === undefined ? options : { ...options, advice: { explicitBucketBoundaries: boundaries } },
                );
              const fast = registry.create(
                FAST_SCOPE,
                'h',
                boundaries === undefined ? options : { ...options, boundaries },
              );
              for (const round of rounds) {
                for (const { value, set, copy } of round) {
                  const attributes = ATTRIBUTE_SETS[set] as Attributes;
                  sdk.record(value, copy ? { ...attributes } : attributes);
                  fast.record(value, copy ? { ...attributes } : attributes);
                }
                const collected = await collect(reader);
                const expected = pointsOf(collected, SDK_SCOPE);
                const actual = pointsOf(collected, FAST_SCOPE.name);
                assert.deepEqual(actual.points, expected.points);
                if (expected.points.length > 0) {
                  assert.equal(actual.temporality, temporality);
                  assert.deepEqual(actual.descriptor, expected.descriptor);
                }
              }
              await provider.shutdown();
            },
          ),
          { numRuns: 150 },
        );
      });
    }
  });
}

describe('fast histograms', () => {
  test("the default boundaries are the SDK's", async () => {
    const registry = new HistogramRegistry();
    const producer = registry.producer();
    const reader = new ManualReader({ metricProducers: [producer] });
    producer.bind(reader);
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter(SDK_SCOPE).createHistogram('h').record(1);
    const [point] = pointsOf(await collect(reader), SDK_SCOPE).points;
    assert.ok(point !== undefined);
    assert.deepEqual((point.value as { buckets: { boundaries: number[] } }).buckets.boundaries, DEFAULT_BOUNDARIES);
  });

  test('past 2000 attribute sets, values go to one otel.metric.overflow series, as in the SDK', async () => {
    const registry = new HistogramRegistry();
    const producer = registry.producer();
    const reader = new ManualReader({ metricProducers: [producer] });
    producer.bind(reader);
    const provider = new MeterProvider({ readers: [reader] });
    const sdk = provider.getMeter(SDK_SCOPE).createHistogram('h');
    const fast = registry.create(FAST_SCOPE, 'h', { description: '', unit: '' });
    for (let index = 0; index < 2100; index++) {
      sdk.record(index, { id: index });
      fast.record(index, { id: index });
    }
    const collected = await collect(reader);
    const expected = pointsOf(collected, SDK_SCOPE);
    const actual = pointsOf(collected, FAST_SCOPE.name);
    assert.equal(actual.points.length, 2000);
    assert.deepEqual(actual.points, expected.points);
  });

  test('with no reader, the registry says it is off', () => {
    assert.equal(new HistogramRegistry().enabled, false);
  });
});
