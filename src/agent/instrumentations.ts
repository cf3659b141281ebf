/**
 * The instrumented areas RPCPLUGIN_INSTRUMENTATIONS turns on, each started on its own: one that
 * fails (a library shape we do not know, a runtime without an API) is one warning, and the others
 * and the app run on.
 */
import type { Config, Instrumentation } from '../env/index.ts';
import { warn } from './diagnostics.ts';
import { instrumentGrpc } from './grpc/index.ts';
import { instrumentPino } from './logs/index.ts';
import { startProcessMetrics } from './process/index.ts';

const STARTERS: Record<Instrumentation, (config: Config) => void> = {
  grpc: instrumentGrpc,
  pino: instrumentPino,
  process: startProcessMetrics,
};

export function startInstrumentations(config: Config): void {
  for (const [name, start] of Object.entries(STARTERS) as [Instrumentation, (config: Config) => void][]) {
    if (!config.instrumentations[name]) continue;
    try {
      start(config);
    } catch (error) {
      warn(`the ${name} instrumentation could not start (${(error as Error).message}); the app runs without it.`);
    }
  }
}
