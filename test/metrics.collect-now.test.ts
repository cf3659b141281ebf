/**
 * pipelines/collect-now.ts collects a reader's metrics synchronously (for process.exit()) through
 * @opentelemetry/sdk-metrics internals. This is its comparison test (docs/architecture.md, "Upstream
 * pieces we replaced"): on the same measurements, through real MeterProviders, it gives what the
 * SDK's own collect() gives, for each temporality, for synchronous and observable instruments, and a
 * collection made with it after one made by the SDK counts nothing twice. When an SDK upgrade changes
 * the internals it reads, these tests fail and, at run time, it throws CollectNowUnavailable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Attributes, ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  MeterProvider,
  type MetricProducer,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { CollectNowUnavailable, collectNow } from '../src/agent/pipelines/collect-now.ts';
import { PeriodicReader } from '../src/agent/pipelines/periodic-reader.ts';
import { jsonMetricExporter, jsonTransport } from './support/json-exporters.ts';
import { spawnCollect } from './support/runtimes.ts';

/** A reader collected by hand, keeping the SDK's producer for collectNow(). */
class HandReader extends MetricReader {
  sdkProducer: MetricProducer | undefined;

  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }

  override setMetricProducer(producer: MetricProducer): void {
    this.sdkProducer = producer;
    super.setMetricProducer(producer);
  }

  async collectBySdk(): Promise<ResourceMetrics> {
    const { resourceMetrics, errors } = await this.collect();
    assert.deepEqual(errors, []);
    return resourceMetrics;
  }

  collectByCollectNow(): ResourceMetrics {
    if (this.sdkProducer === undefined) throw new Error('not bound to a meter provider');
    return collectNow(this.sdkProducer, []);
  }

  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** An app's instruments: every kind, with a few attribute sets; `phase` changes what is recorded. */
function instrumentedApp(provider: MeterProvider) {
  const meter = provider.getMeter('app', '1.0.0');
  const other = provider.getMeter('other');
  const counter = meter.createCounter('calls');
  const upDown = meter.createUpDownCounter('in.flight');
  const histogram = meter.createHistogram('duration', { unit: 's' });
  const gauge = meter.createGauge('temperature');
  const intCounter = other.createCounter('bytes', { valueType: ValueType.INT });
  let phase = 1;
  meter.createObservableGauge('observed.gauge').addCallback((result) => {
    result.observe(phase * 10, { phase: 'any' });
    result.observe(phase * 2.5);
  });
  meter.createObservableCounter('observed.counter', { valueType: ValueType.INT }).addCallback((result) => {
    result.observe(phase * 100.7, { kind: 'cpu' });
  });
  const heapA = other.createObservableUpDownCounter('heap.a');
  const heapB = other.createObservableUpDownCounter('heap.b');
  other.addBatchObservableCallback(
    (result) => {
      result.observe(heapA, phase * 3, { space: 'new' });
      result.observe(heapB, phase * 4, { space: 'old' });
    },
    [heapA, heapB],
  );
  return (next: number) => {
    phase = next;
    const attributes: Attributes[] = [{}, { 'rpc.method': 'Get' }, { 'rpc.method': 'Put', code: next }];
    for (let i = 0; i < 5 * next; i++) {
      const at = attributes[i % attributes.length] ?? {};
      counter.add(i + 1, at);
      upDown.add(i % 2 === 0 ? 1 : -2, at);
      histogram.record(i * 0.37 * next, at);
      gauge.record(i * next, at);
      intCounter.add(i, at);
    }
  };
}

/** What a collection says, without its timestamps (two collections never share them). */
function withoutTimes(metrics: ResourceMetrics) {
  return metrics.scopeMetrics
    .map((scope) => ({
      scope: `${scope.scope.name}@${scope.scope.version ?? ''}`,
      metrics: scope.metrics
        .map((metric) => ({
          name: metric.descriptor.name,
          temporality: metric.aggregationTemporality,
          type: metric.dataPointType,
          points: metric.dataPoints
            .map((point) => ({ attributes: JSON.stringify(point.attributes), value: point.value }))
            .sort((a, b) => a.attributes.localeCompare(b.attributes)),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => a.scope.localeCompare(b.scope));
}

function app(temporality: AggregationTemporality) {
  const reader = new HandReader(temporality);
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, record: instrumentedApp(provider) };
}

const TEMPORALITIES = [
  ['cumulative', AggregationTemporality.CUMULATIVE],
  ['delta', AggregationTemporality.DELTA],
] as const;

describe('collectNow() gives what the SDK collect() gives', () => {
  for (const [name, temporality] of TEMPORALITIES) {
    test(`${name}: three collections in a row, each after more measurements`, async () => {
      const sdk = app(temporality);
      const ours = app(temporality);
      for (const phase of [1, 2, 3]) {
        sdk.record(phase);
        ours.record(phase);
        const expected = withoutTimes(await sdk.reader.collectBySdk());
        assert.ok(expected.length === 2 && expected.every((scope) => scope.metrics.length > 0));
        assert.deepEqual(withoutTimes(ours.reader.collectByCollectNow()), expected, `collection ${phase}`);
      }
      await Promise.all([sdk.provider.shutdown(), ours.provider.shutdown()]);
    });

    test(`${name}: after a collection by the SDK, collectNow() counts nothing twice`, async () => {
      const sdk = app(temporality);
      const mixed = app(temporality);
      for (const phase of [1, 2]) {
        sdk.record(phase);
        mixed.record(phase);
        const expected = withoutTimes(await sdk.reader.collectBySdk());
        const actual = phase === 1 ? await mixed.reader.collectBySdk() : mixed.reader.collectByCollectNow();
        assert.deepEqual(withoutTimes(actual), expected, `collection ${phase}`);
      }
      await Promise.all([sdk.provider.shutdown(), mixed.provider.shutdown()]);
    });
  }

  test('the resource is the meter provider’s', () => {
    const { reader, provider } = app(AggregationTemporality.CUMULATIVE);
    provider.getMeter('app').createCounter('calls').add(1);
    const collected = reader.collectByCollectNow();
    assert.equal(
      collected.resource,
      (provider as unknown as { _sharedState: { resource: unknown } })._sharedState.resource,
    );
  });
});

describe('when the SDK is not shaped as collect-now.ts reads it', () => {
  test('it throws CollectNowUnavailable, naming what changed, having collected nothing', () => {
    const notTheSdk: MetricProducer = {
      collect: async () => ({ resourceMetrics: { resource: undefined as never, scopeMetrics: [] }, errors: [] }),
    };
    assert.throws(
      () => collectNow(notTheSdk, []),
      (error: Error) =>
        error instanceof CollectNowUnavailable &&
        error.message ===
          '@opentelemetry/sdk-metrics internals changed (MetricCollector._sharedState.meterSharedStates is not what collect-now.ts reads)',
    );
  });
});

/**
 * The fallback at run time, in a child process of this same suite (the agent's lines go to fd 2):
 * a periodic reader whose producer is not shaped as the SDK's gives nothing at exit and says so once.
 */
if (process.env.COLLECT_NOW_FALLBACK_CHILD === '1') {
  // Never exports: the interval is an hour, and nothing listens at the URL.
  const transport = jsonTransport('http://127.0.0.1:9/v1/metrics', new AbortController().signal);
  const reader = new PeriodicReader(jsonMetricExporter(transport, 1000), 3_600_000, 1000);
  reader.setMetricProducer({
    collect: async () => ({ resourceMetrics: { resource: undefined as never, scopeMetrics: [] }, errors: [] }),
  });
  process.stderr.write(`child: pending=${String(reader.takePending())}\n`);
  process.exit(0);
}

describe('when the SDK is not shaped as collect-now.ts reads it, at run time', () => {
  test('the periodic reader gives no metrics at exit and one line says why', async () => {
    const run = await spawnCollect(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { COLLECT_NOW_FALLBACK_CHILD: '1' },
    });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(
      run.stderr,
      'rpcplugin-telemetry: metrics recorded since the last export cannot be collected at exit ' +
        '(@opentelemetry/sdk-metrics internals changed (MetricCollector._sharedState.meterSharedStates is not what ' +
        'collect-now.ts reads)); they are lost.\nchild: pending=undefined\n',
    );
  });
});
