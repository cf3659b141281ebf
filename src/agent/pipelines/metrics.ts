import type { Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  type MetricProducer,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Config } from '../../env/index.ts';
import { StderrMetricExporter } from '../exporters/console.ts';
import {
  counted,
  createOtlpMetricExporter,
  exitRequest,
  metricSerializer,
  resolveOtlpTarget,
} from '../exporters/otlp-http.ts';
import type { ExitRequest } from '../lifecycle/exit-export.ts';
import { warn } from '../sdk/diagnostics.ts';
import { loadSibling } from '../sdk/load-bundle.ts';
import { HistogramRegistry } from './histogram-registry.ts';
import { PeriodicReader } from './periodic-reader.ts';

export interface MetricPipeline {
  readonly provider: MeterProvider;
  /** The agent's per-call histograms (pipelines/histogram-registry.ts), exported by the same readers. */
  readonly histograms: HistogramRegistry;
  /** What the OTLP reader has not exported yet, collected now, as one OTLP request (for process.exit). */
  takePending(): ExitRequest | undefined;
}

export function createMetricPipeline(config: Config, resource: Resource, finalFlush: AbortSignal): MetricPipeline {
  const { metrics } = config;
  const histograms = new HistogramRegistry();
  const readers: MetricReader[] = [];
  let takePending: MetricPipeline['takePending'] = () => undefined;
  const periodic = (exporter: PushMetricExporter, producer: MetricProducer) =>
    new PeriodicReader(exporter, metrics.exportIntervalMs, metrics.exportTimeoutMs, [producer]);
  for (const exporter of metrics.exporters) {
    const producer = histograms.producer();
    let reader: MetricReader;
    if (exporter === 'console') reader = periodic(new StderrMetricExporter(), producer);
    else if (exporter === 'prometheus') reader = createPrometheusReader(metrics.prometheus, producer);
    else {
      const target = resolveOtlpTarget(metrics.otlp, 'OTEL_EXPORTER_OTLP_METRICS_', finalFlush);
      const otlpReader = periodic(createOtlpMetricExporter(target, metrics.temporality), producer);
      reader = otlpReader;
      takePending = () => {
        const pending = otlpReader.takePending();
        if (pending === undefined) return undefined;
        const body = metricSerializer(target).serializeRequest(pending);
        return exitRequest(target, 'metrics', body, counted(dataPoints(pending), 'metric point'));
      };
    }
    producer.bind(reader);
    readers.push(reader);
  }
  return { provider: new MeterProvider({ resource, readers }), histograms, takePending: () => takePending() };
}

function dataPoints(metrics: ResourceMetrics): number {
  let count = 0;
  for (const scope of metrics.scopeMetrics) for (const metric of scope.metrics) count += metric.dataPoints.length;
  return count;
}

type PrometheusModule = typeof import('../exporters/prometheus.ts');

function createPrometheusReader(address: Config['metrics']['prometheus'], producer: MetricProducer): MetricReader {
  const { createPrometheusReader } = loadSibling<PrometheusModule>('agent-prometheus.cjs');
  return createPrometheusReader(address, producer, (error) => {
    const variables = `OTEL_EXPORTER_PROMETHEUS_HOST=${address.host} OTEL_EXPORTER_PROMETHEUS_PORT=${address.port}`;
    warn(`${variables}: the Prometheus endpoint cannot listen (${error.message}); it is off, the app runs on.`);
  });
}
