import { TraceFlags } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { type ReadableSpan, SimpleSpanProcessor, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Config } from '../../env/index.ts';
import { StderrSpanExporter } from '../exporters/console.ts';
import {
  counted,
  createOtlpSpanExporter,
  exitRequest,
  resolveOtlpTarget,
  spanSerializer,
} from '../exporters/otlp-http.ts';
import type { ExitRequest } from '../lifecycle/exit-export.ts';
import { buildSampling } from '../sdk/sampler.ts';
import { BatchQueue } from './batch-queue.ts';

export interface TracePipeline {
  readonly provider: TracerProvider;
  /** Spans not yet delivered, as one OTLP request (for process.exit). */
  takePending(): ExitRequest | undefined;
}

export function createTracePipeline(config: Config, resource: Resource, finalFlush: AbortSignal): TracePipeline {
  const { traces } = config;
  const spanProcessors: SpanProcessor[] = [];
  let takePending: TracePipeline['takePending'] = () => undefined;
  for (const exporter of traces.exporters) {
    if (exporter === 'console') {
      spanProcessors.push(new SimpleSpanProcessor({ exporter: new StderrSpanExporter() }));
    } else {
      const target = resolveOtlpTarget(traces.otlp, 'OTEL_EXPORTER_OTLP_TRACES_', finalFlush);
      const queue = new BatchQueue<ReadableSpan>(createOtlpSpanExporter(target), traces.batch, 'spans');
      spanProcessors.push(batchSpanProcessor(queue));
      takePending = () => {
        const spans = queue.takePending();
        if (spans.length === 0) return undefined;
        return exitRequest(
          target,
          'traces',
          spanSerializer(target).serializeRequest(spans),
          counted(spans.length, 'span'),
        );
      };
    }
  }
  const provider = new TracerProvider({
    resource,
    ...buildSampling(config.sampler),
    spanLimits: { ...traces.limits },
    spanProcessors,
  });
  return { provider, takePending };
}

/** Queues each ended span that is sampled, as the SDK's BatchSpanProcessor does. */
function batchSpanProcessor(queue: BatchQueue<ReadableSpan>): SpanProcessor {
  return {
    onStart() {},
    onEnd(span) {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) queue.add(span);
    },
    forceFlush: () => queue.forceFlush(),
    shutdown: () => queue.shutdown(),
  };
}
