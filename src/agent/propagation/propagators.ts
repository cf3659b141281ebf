import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import type { Propagator } from '../../env/index.ts';
import { loadSibling } from '../sdk/load-bundle.ts';
import { TraceContextPropagator } from './trace-context.ts';

type LazyPropagators = typeof import('./b3-jaeger.ts');

const lazy = () => loadSibling<LazyPropagators>('agent-propagators.cjs');

const FACTORIES: Record<Propagator, () => TextMapPropagator> = {
  // Upstream's W3CTraceContextPropagator, without its regexes (trace-context.ts).
  tracecontext: () => new TraceContextPropagator(),
  baggage: () => new W3CBaggagePropagator(),
  b3: () => lazy().createB3Propagator('single'),
  b3multi: () => lazy().createB3Propagator('multi'),
  jaeger: () => lazy().createJaegerPropagator(),
};

/** OTEL_PROPAGATORS composed in the order given (an empty list propagates nothing). */
export function buildPropagator(names: readonly Propagator[]): TextMapPropagator {
  return new CompositePropagator({ propagators: names.map((name) => FACTORIES[name]()) });
}
