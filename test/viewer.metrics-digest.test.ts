/**
 * The metrics line's figures (src/viewer/metrics-digest.ts): percentiles interpolated inside
 * explicit buckets, cumulative series turned into per-interval counts and rates, memory and
 * event-loop delay picked per service, series of other metrics ignored.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsDigester, quantile } from '../src/viewer/metrics-digest.ts';
import type { Metric } from '../src/viewer/otlp-types.ts';

const S = 1_000_000_000n;

function rpcHistogram(counts: number[], count: number, timeS: bigint, temporality = 2): Metric {
  return {
    name: 'rpc.server.duration',
    description: '',
    unit: 'ms',
    type: 'histogram',
    temporality,
    dataPoints: [
      {
        attributes: { 'rpc.service': 'proto.KV', 'rpc.method': 'Get', 'rpc.system': 'grpc' },
        startTimeUnixNano: 100n * S,
        timeUnixNano: timeS * S,
        flags: 0,
        count,
        bucketCounts: counts,
        explicitBounds: [0, 5, 10, 25],
      },
    ],
    resource: { 'service.name': 'kv-plugin' },
    scope: { name: '', version: '', attributes: {} },
  };
}

function gauge(name: string, unit: string, value: number): Metric {
  return {
    name,
    description: '',
    unit,
    type: name === 'process.memory.usage' ? 'sum' : 'gauge',
    dataPoints: [{ attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, value }],
    resource: { 'service.name': 'kv-plugin' },
    scope: { name: '', version: '', attributes: {} },
  };
}

describe('the metrics digest', () => {
  test('quantiles interpolate inside the bucket they fall in, bounded by min and max', () => {
    const histogram = { count: 10, bucketCounts: [0, 4, 4, 2, 0], explicitBounds: [0, 5, 10, 25] };
    assert.equal(quantile(histogram, 0.5), 6.25); // rank 5: the first of the 4 in (5, 10]
    assert.equal(quantile(histogram, 0.2), 2.5); // rank 2: half way through (0, 5]
    assert.equal(quantile(histogram, 1), 25);
    assert.equal(quantile({ ...histogram, max: 12 }, 1), 12);
    assert.equal(quantile({ count: 0, bucketCounts: [], explicitBounds: [] }, 0.5), undefined);
  });

  test('a cumulative series: the second export shows the calls of its interval, and their rate', () => {
    const digester = new MetricsDigester();
    const [first] = digester.digest([
      rpcHistogram([0, 4, 0, 0, 0], 4, 110n),
      gauge('process.memory.usage', 'By', 52 * 1024 * 1024),
    ]);
    assert.deepEqual(first, {
      service: 'kv-plugin',
      rpc: [{ side: 'server', method: 'proto.KV/Get', count: 4, rate: 0.4, p50: 2.5, p95: 4.75, p99: 4.95 }],
      memoryBytes: 52 * 1024 * 1024,
    });
    const [secondRaw] = digester.digest([
      rpcHistogram([0, 4, 0, 6, 0], 10, 112n),
      gauge('nodejs.eventloop.delay.p99', 's', 0.0125),
    ]);
    // Rounded to µs: the interpolation is floating-point.
    const second = {
      ...secondRaw,
      rpc: secondRaw?.rpc.map((rpc) => ({ ...rpc, p99: Math.round((rpc.p99 ?? 0) * 1000) / 1000 })),
    };
    assert.deepEqual(second, {
      service: 'kv-plugin',
      rpc: [{ side: 'server', method: 'proto.KV/Get', count: 6, rate: 3, p50: 17.5, p95: 24.25, p99: 24.85 }],
      eventLoopDelayP99Ms: 12.5,
    });
    assert.deepEqual(
      digester.digest([rpcHistogram([0, 4, 0, 6, 0], 10, 113n)]),
      [],
      'no calls in the interval: nothing to say',
    );
  });

  test('a delta series is its own interval', () => {
    const digester = new MetricsDigester();
    for (let i = 0; i < 2; i++) {
      const [digest] = digester.digest([rpcHistogram([0, 2, 0, 0, 0], 2, 102n, 1)]);
      assert.equal(digest?.rpc[0]?.count, 2);
      assert.equal(digest?.rpc[0]?.rate, 1);
    }
  });
});
