import type { Config } from '../../env/index.ts';

/** Process memory, CPU and event-loop gauges, observed at export time. Not yet implemented. */
export function startProcessMetrics(_config: Config): void {}
