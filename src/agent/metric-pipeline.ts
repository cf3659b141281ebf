import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Config } from '../env/index.ts';
import { StderrMetricExporter } from './console-exporters.ts';
import { warn } from './diagnostics.ts';
import { loadSibling } from './load-sibling.ts';
import { createOtlpMetricExporter, resolveOtlpTarget } from './otlp-http.ts';
import { PeriodicReader } from './periodic-reader.ts';

export function createMeterProvider(config: Config, resource: Resource): MeterProvider {
  const { metrics } = config;
  const readers: MetricReader[] = [];
  const periodic = (exporter: PushMetricExporter) =>
    new PeriodicReader(exporter, metrics.exportIntervalMs, metrics.exportTimeoutMs);
  for (const exporter of metrics.exporters) {
    if (exporter === 'console') readers.push(periodic(new StderrMetricExporter()));
    else if (exporter === 'prometheus') readers.push(createPrometheusReader(metrics.prometheus));
    else {
      const target = resolveOtlpTarget(metrics.otlp, 'OTEL_EXPORTER_OTLP_METRICS_');
      readers.push(periodic(createOtlpMetricExporter(target, metrics.temporality)));
    }
  }
  return new MeterProvider({ resource, readers });
}

type PrometheusModule = typeof import('./lazy/prometheus.ts');

function createPrometheusReader(address: Config['metrics']['prometheus']): MetricReader {
  const { createPrometheusReader } = loadSibling<PrometheusModule>('agent-prometheus.cjs');
  return createPrometheusReader(address, (error) => {
    const variables = `OTEL_EXPORTER_PROMETHEUS_HOST=${address.host} OTEL_EXPORTER_PROMETHEUS_PORT=${address.port}`;
    warn(`${variables}: the Prometheus endpoint cannot listen (${error.message}); it is off, the app runs on.`);
  });
}
