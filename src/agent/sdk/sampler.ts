import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  type IdGenerator,
  ParentBasedSampler,
  RandomIdGenerator,
  type Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import type { Config } from '../../env/index.ts';
import { SpanDecisions } from './span-decisions.ts';

/** The spec's samplers by name (OTEL_TRACES_SAMPLER), the ratio from OTEL_TRACES_SAMPLER_ARG. */
export function buildSampler({ name, ratio }: Config['sampler']): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

let current: SpanDecisions | undefined;

/**
 * The TracerProvider's sampler and id generator: the configured sampler and the SDK's random ids,
 * through the SpanDecisions that instrumentations use to decide a span before making it.
 */
export function buildSampling(config: Config['sampler']): { sampler: Sampler; idGenerator: IdGenerator } {
  current = new SpanDecisions(buildSampler(config), new RandomIdGenerator(), config);
  return { sampler: current.providerSampler, idGenerator: current.providerIds };
}

/** The decisions of the provider built last (this agent's), if any. */
export function spanDecisions(): SpanDecisions | undefined {
  return current;
}
