import type { HistogramRegistry } from '../pipelines/histogram-registry.ts';

/** Instruments the SDK wiring makes once and the instrumentations record into (the API's globals are set already). */
export interface SharedInstruments {
  readonly histograms: HistogramRegistry;
}
