/** The b3 and jaeger propagators, in their own bundle (dist/agent-propagators.cjs), loaded only when configured. */
import type { TextMapPropagator } from '@opentelemetry/api';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';

export function createB3Propagator(encoding: 'single' | 'multi'): TextMapPropagator {
  return new B3Propagator({
    injectEncoding: encoding === 'multi' ? B3InjectEncoding.MULTI_HEADER : B3InjectEncoding.SINGLE_HEADER,
  });
}

export function createJaegerPropagator(): TextMapPropagator {
  return new JaegerPropagator();
}
