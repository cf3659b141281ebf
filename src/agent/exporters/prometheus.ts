/**
 * OTEL_METRICS_EXPORTER=prometheus: a pull endpoint on OTEL_EXPORTER_PROMETHEUS_HOST/PORT. Built as
 * its own bundle (dist/agent-prometheus.cjs) and loaded only when configured.
 */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer, MetricReader } from '@opentelemetry/sdk-metrics';

export function createPrometheusReader(
  { host, port }: { host: string; port: number },
  producer: MetricProducer,
  onListenError: (error: Error) => void,
): MetricReader {
  // Host and port given explicitly, so the exporter's own reading of the environment never applies;
  // the server is started here so a busy port is reported by us, once, not by the SDK's diag.
  const exporter = new PrometheusExporter({ host, port, preventServerStart: true, metricProducers: [producer] });
  exporter.startServer().catch(onListenError);
  return exporter;
}
