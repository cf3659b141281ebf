/**
 * The event-loop delay collector (src/agent/process/event-loop.ts) with a histogram of our own: what
 * one collection reports, the reset after it, and a collection with no sample since the previous one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GaugeMetricData, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { type DelayHistogram, observeDelayHistogram } from '../src/agent/process/event-loop.ts';

class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  /** Each gauge's single value, by metric name. */
  async values(): Promise<Record<string, number>> {
    const { resourceMetrics } = await this.collect();
    const values: Record<string, number> = {};
    for (const { metrics } of resourceMetrics.scopeMetrics) {
      for (const metric of metrics as GaugeMetricData[]) {
        assert.ok(metric.dataPoints.length <= 1, metric.descriptor.name);
        for (const point of metric.dataPoints) values[metric.descriptor.name] = point.value;
      }
    }
    return values;
  }
}

/** A histogram in nanoseconds, as perf_hooks has it, that counts its resets. */
function fakeHistogram(samples: number[]): DelayHistogram & { samples: number[]; resets: number } {
  return {
    samples,
    resets: 0,
    get count() {
      return this.samples.length;
    },
    get max() {
      return Math.max(...this.samples);
    },
    percentile(p: number) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
    },
    reset() {
      this.resets += 1;
      this.samples = [];
    },
  };
}

test('each collection reports p50, p99 and max in seconds since the previous one, then resets', async () => {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  const ms = 1e6;
  const histogram = fakeHistogram([10 * ms, 10 * ms, 11 * ms, 40 * ms]);
  observeDelayHistogram(provider.getMeter('test'), histogram);

  assert.deepEqual(await reader.values(), {
    'nodejs.eventloop.delay.p50': 0.01,
    'nodejs.eventloop.delay.p99': 0.04,
    'nodejs.eventloop.delay.max': 0.04,
  });
  assert.equal(histogram.resets, 1);

  // No sample since (two readers collecting within one sampling interval): nothing is observed, not a
  // made-up zero; the SDK repeats the last observation of these cumulative gauges; no reset.
  assert.deepEqual(await reader.values(), {
    'nodejs.eventloop.delay.p50': 0.01,
    'nodejs.eventloop.delay.p99': 0.04,
    'nodejs.eventloop.delay.max': 0.04,
  });
  assert.equal(histogram.resets, 1);

  histogram.samples.push(12 * ms);
  assert.deepEqual(await reader.values(), {
    'nodejs.eventloop.delay.p50': 0.012,
    'nodejs.eventloop.delay.p99': 0.012,
    'nodejs.eventloop.delay.max': 0.012,
  });
  assert.equal(histogram.resets, 2);
  await provider.shutdown();
});
