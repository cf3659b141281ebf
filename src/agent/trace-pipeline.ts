import { TraceFlags } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Config } from '../env/index.ts';
import { StderrSpanExporter } from './console-exporters.ts';
import type { ExitRequest } from './exit-export.ts';
import { createOtlpSpanExporter, exitRequest, resolveOtlpTarget, spanSerializer } from './otlp-http.ts';
import { PendingRecords, settlingExporter } from './pending.ts';
import { buildSampler } from './sampler.ts';

export interface TracePipeline {
  readonly provider: TracerProvider;
  /** Spans the batch processor still holds, as one OTLP request (for process.exit). */
  takePending(): ExitRequest | undefined;
}

export function createTracePipeline(config: Config, resource: Resource): TracePipeline {
  const { traces } = config;
  const spanProcessors: SpanProcessor[] = [];
  let takePending: TracePipeline['takePending'] = () => undefined;
  for (const exporter of traces.exporters) {
    if (exporter === 'console') {
      spanProcessors.push(new SimpleSpanProcessor({ exporter: new StderrSpanExporter() }));
    } else {
      const target = resolveOtlpTarget(traces.otlp, 'OTEL_EXPORTER_OTLP_TRACES_');
      const pending = new PendingRecords<ReadableSpan>(traces.batch.maxQueueSize);
      spanProcessors.push(
        trackPendingSpans(pending),
        new BatchSpanProcessor({
          exporter: settlingExporter(createOtlpSpanExporter(target), pending),
          maxQueueSize: traces.batch.maxQueueSize,
          maxExportBatchSize: traces.batch.maxExportBatchSize,
          scheduledDelayMillis: traces.batch.scheduleDelayMs,
          exportTimeoutMillis: traces.batch.exportTimeoutMs,
        }),
      );
      takePending = () =>
        exitRequest(target, pending.take(), (spans) => spanSerializer(target).serializeRequest(spans));
    }
  }
  const provider = new TracerProvider({
    resource,
    sampler: buildSampler(config.sampler),
    spanLimits: { ...traces.limits },
    spanProcessors,
  });
  return { provider, takePending };
}

/** Remembers each ended, sampled span (what the batch processor queues) until it is exported. */
function trackPendingSpans(pending: PendingRecords<ReadableSpan>): SpanProcessor {
  return {
    onStart() {},
    onEnd(span) {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) pending.add(span);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}
