/**
 * A metric reader's collection, synchronously, for the exit send (lifecycle/exit-export.ts): at
 * `process.exit()` no promise settles any more, and the SDK's MetricReader.collect() is promise-based
 * all the way down, although the work under it is synchronous: observable callbacks (the agent's are
 * synchronous), then each storage's `collect(collector, time)`. This does that work in the SDK's own
 * order, through @opentelemetry/sdk-metrics internals (2.x: MetricCollector._sharedState, MeterSharedState's
 * observableRegistry and metricStorageRegistry, each storage's record and collect), so the SDK's
 * temporality state moves on exactly as after a periodic collection: nothing is counted twice.
 * test/metrics.collect-now.test.ts compares it with the SDK's collect() on the same measurements and
 * fails loudly when those internals change; at run time a changed shape throws CollectNowUnavailable
 * (the metric pipeline says so once and sends no metrics at exit, as before).
 * An observable callback that returns a promise cannot be waited for here: its observations are left out.
 */
import { type Attributes, type HrTime, ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { MetricData, MetricProducer, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';

export class CollectNowUnavailable extends Error {}

/** What the SDK's MetricCollector is, as far as this module reads it. */
interface SdkCollector {
  _sharedState: { resource: ResourceMetrics['resource']; meterSharedStates: Map<string, MeterState> };
}

interface MeterState {
  _instrumentationScope: ScopeMetrics['scope'];
  observableRegistry: {
    _callbacks: { callback: (result: unknown) => unknown; instrument: ObservableInstrument }[];
    _batchCallbacks: { callback: (result: unknown) => unknown; instruments: Set<ObservableInstrument> }[];
  };
  metricStorageRegistry: { getStorages(collector: unknown): Storage[] };
}

interface ObservableInstrument {
  _descriptor: { name: string; valueType: number };
  _metricStorages: Storage[];
}

interface Storage {
  /** AsyncMetricStorage's: the observations of one callback run (an AttributeHashMap; entries() is what it reads). */
  record(measurements: Measurements, time: HrTime): void;
  collect(collector: unknown, time: HrTime): MetricData | undefined | null;
}

/** The SDK's AttributeHashMap as AsyncMetricStorage reads it: [attributes, value, hash] (the hash is computed when absent). */
interface Measurements {
  entries(): IterableIterator<[Attributes, number, string | undefined]>;
}

/**
 * Collects now what `collector` (the SDK's MetricProducer handed to the reader in setMetricProducer)
 * would collect asynchronously, and adds the scopes of `extra` producers. Throws CollectNowUnavailable
 * when the SDK is not shaped as this module expects; then nothing was collected.
 */
export function collectNow(collector: MetricProducer, extra: readonly (() => ScopeMetrics[])[]): ResourceMetrics {
  const sdk = checkedShape(collector);
  const time = millisToHrTime(Date.now());
  const scopeMetrics: ScopeMetrics[] = [];
  for (const meter of sdk._sharedState.meterSharedStates.values()) {
    observe(meter, time);
    const metrics: MetricData[] = [];
    for (const storage of meter.metricStorageRegistry.getStorages(collector)) {
      const data = storage.collect(collector, time);
      if (data != null) metrics.push(data);
    }
    if (metrics.length > 0) scopeMetrics.push({ scope: meter._instrumentationScope, metrics });
  }
  for (const producer of extra) scopeMetrics.push(...producer());
  return { resource: sdk._sharedState.resource, scopeMetrics };
}

/** ObservableRegistry.observe without its promises: each callback, then its observations into the instrument's storages. */
function observe(meter: MeterState, time: HrTime): void {
  for (const { callback, instrument } of meter.observableRegistry._callbacks) {
    const buffer = new ObservationBuffer(instrument._descriptor);
    if (
      !callSynchronously(callback, {
        observe: (value: unknown, attributes?: Attributes) => buffer.observe(value, attributes),
      })
    )
      continue;
    for (const storage of instrument._metricStorages) storage.record(buffer, time);
  }
  for (const { callback, instruments } of meter.observableRegistry._batchCallbacks) {
    const buffers = new Map<ObservableInstrument, ObservationBuffer>();
    const result = {
      observe(instrument: ObservableInstrument, value: unknown, attributes?: Attributes) {
        if (!instruments.has(instrument)) return;
        let buffer = buffers.get(instrument);
        if (buffer === undefined) {
          buffer = new ObservationBuffer(instrument._descriptor);
          buffers.set(instrument, buffer);
        }
        buffer.observe(value, attributes);
      },
    };
    if (!callSynchronously(callback, result)) continue;
    for (const [instrument, buffer] of buffers) {
      for (const storage of instrument._metricStorages) storage.record(buffer, time);
    }
  }
}

/** Runs a callback; false when it threw or returned a promise (the SDK would wait for it; here nothing can). */
function callSynchronously(callback: (result: unknown) => unknown, result: unknown): boolean {
  try {
    const returned = callback(result);
    return !(returned instanceof Promise);
  } catch {
    return false;
  }
}

/** ObservableResultImpl's rules: numbers only, INT instruments truncate, the last value per attribute set wins. */
class ObservationBuffer implements Measurements {
  private readonly byKey = new Map<string, [Attributes, number, string]>();

  constructor(private readonly descriptor: ObservableInstrument['_descriptor']) {}

  observe(value: unknown, attributes: Attributes = {}): void {
    if (typeof value !== 'number') return;
    let observed = value;
    if (this.descriptor.valueType === ValueType.INT && !Number.isInteger(observed)) {
      observed = Math.trunc(observed);
      if (!Number.isInteger(observed)) return;
    }
    const key = hashAttributes(attributes);
    this.byKey.set(key, [attributes, observed, key]);
  }

  entries(): IterableIterator<[Attributes, number, string]> {
    return this.byKey.values();
  }
}

/** sdk-metrics' hashAttributes (utils.ts): the key its AttributeHashMap files an attribute set under. */
function hashAttributes(attributes: Attributes): string {
  const keys = Object.keys(attributes);
  if (keys.length === 0) return '';
  keys.sort();
  return JSON.stringify(keys.map((key) => [key, attributes[key]]));
}

function checkedShape(collector: MetricProducer): SdkCollector {
  const missing = (what: string) =>
    new CollectNowUnavailable(
      `@opentelemetry/sdk-metrics internals changed (${what} is not what collect-now.ts reads)`,
    );
  const shared = (collector as Partial<SdkCollector>)._sharedState;
  if (!(shared?.meterSharedStates instanceof Map)) throw missing('MetricCollector._sharedState.meterSharedStates');
  for (const meter of shared.meterSharedStates.values()) {
    const registry = meter?.observableRegistry;
    if (!Array.isArray(registry?._callbacks) || !Array.isArray(registry?._batchCallbacks)) {
      throw missing('MeterSharedState.observableRegistry');
    }
    if (typeof meter.metricStorageRegistry?.getStorages !== 'function')
      throw missing('MeterSharedState.metricStorageRegistry');
    const instruments = [
      ...registry._callbacks.map((entry) => entry.instrument),
      ...registry._batchCallbacks.flatMap((entry) => [...entry.instruments]),
    ];
    for (const instrument of instruments) {
      if (!Array.isArray(instrument?._metricStorages) || typeof instrument._descriptor?.name !== 'string') {
        throw missing('an observable instrument');
      }
      if (instrument._metricStorages.some((storage) => typeof storage.record !== 'function')) {
        throw missing('AsyncMetricStorage.record');
      }
    }
    for (const storage of meter.metricStorageRegistry.getStorages(collector)) {
      if (typeof storage?.collect !== 'function') throw missing('MetricStorage.collect');
    }
  }
  return collector as unknown as SdkCollector;
}
