import type { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Config } from '../env/index.ts';
import { StderrSpanExporter } from './console-exporters.ts';
import { createOtlpSpanExporter } from './otlp-http.ts';
import { buildSampler } from './sampler.ts';
import { unsupportedProtocol } from './unsupported.ts';

export function createTracerProvider(config: Config, resource: Resource): TracerProvider {
  const { traces } = config;
  const spanProcessors: SpanProcessor[] = [];
  for (const exporter of traces.exporters) {
    if (exporter === 'console') {
      spanProcessors.push(new SimpleSpanProcessor({ exporter: new StderrSpanExporter() }));
    } else if (unsupportedProtocol(traces.otlp, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') === undefined) {
      spanProcessors.push(
        new BatchSpanProcessor({
          exporter: createOtlpSpanExporter(traces.otlp),
          maxQueueSize: traces.batch.maxQueueSize,
          maxExportBatchSize: traces.batch.maxExportBatchSize,
          scheduledDelayMillis: traces.batch.scheduleDelayMs,
          exportTimeoutMillis: traces.batch.exportTimeoutMs,
        }),
      );
    }
  }
  return new TracerProvider({
    resource,
    sampler: buildSampler(config.sampler),
    spanLimits: { ...traces.limits },
    spanProcessors,
  });
}
