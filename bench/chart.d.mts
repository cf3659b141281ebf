// Types of bench/chart.mjs, for test/bench.chart.test.ts.

/** A runtime's throughput ratios (instrumented / bare); undefined where there is no figure. */
export interface ChartRuntime {
  label: string;
  note?: string | undefined;
  unary: { ours?: number | undefined; contrib?: number | undefined };
  stream: { ours?: number | undefined; contrib?: number | undefined };
}

export function throughputChart(runtimes: ChartRuntime[]): string;
