/**
 * Event-loop delay: perf_hooks.monitorEventLoopDelay(), a histogram the runtime fills from its own
 * native timer (no JavaScript timer in the app), read and reset at each collection, so each export
 * describes the delays since the previous collection (by any reader).
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { type Meter, ValueType } from '@opentelemetry/api';
import {
  METRIC_NODEJS_EVENTLOOP_DELAY_MAX,
  METRIC_NODEJS_EVENTLOOP_DELAY_P50,
  METRIC_NODEJS_EVENTLOOP_DELAY_P99,
} from './conventions.ts';

/**
 * The sampling interval, Node's default (as in prom-client and the contrib runtime-node
 * instrumentation, so the values compare). On Node every sample includes it: an idle loop reads
 * about 0.010 s. Bun reports the delay beyond it: an idle loop reads about 0.
 */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/** What the collector needs of the histogram (a fake one in the unit tests). */
export type DelayHistogram = Pick<IntervalHistogram, 'count' | 'max' | 'percentile' | 'reset'>;

export function observeEventLoopDelay(meter: Meter): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  observeDelayHistogram(meter, histogram);
}

export function observeDelayHistogram(meter: Meter, histogram: DelayHistogram): void {
  const gauge = (name: string, description: string) =>
    meter.createObservableGauge(name, { description, unit: 's', valueType: ValueType.DOUBLE });
  const p50 = gauge(METRIC_NODEJS_EVENTLOOP_DELAY_P50, 'Event loop 50 percentile delay.');
  const p99 = gauge(METRIC_NODEJS_EVENTLOOP_DELAY_P99, 'Event loop 99 percentile delay.');
  const max = gauge(METRIC_NODEJS_EVENTLOOP_DELAY_MAX, 'Event loop maximum delay.');
  meter.addBatchObservableCallback(
    (result) => {
      // No sample since the last collection (two readers within one interval): nothing new to say,
      // and no made-up zero; the SDK repeats the last observation.
      if (histogram.count === 0) return;
      result.observe(p50, histogram.percentile(50) / 1e9);
      result.observe(p99, histogram.percentile(99) / 1e9);
      result.observe(max, histogram.max / 1e9);
      histogram.reset();
    },
    [p50, p99, max],
  );
}
