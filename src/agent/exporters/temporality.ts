import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import type { Config } from '../../env/index.ts';

/** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE as the OTLP metric exporters take it. */
export const TEMPORALITY: Record<Config['metrics']['temporality'], AggregationTemporalityPreference> = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
};
