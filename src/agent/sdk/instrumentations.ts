/**
 * The instrumented areas RPCPLUGIN_INSTRUMENTATIONS turns on, each started on its own: one that
 * fails (a library shape we do not know, a runtime without an API) is one warning, and the others
 * and the app run on.
 */
import type { Config, Instrumentation } from '../../env/index.ts';
import { instrumentGrpc } from '../grpc/index.ts';
import { instrumentChildProcesses } from '../host/index.ts';
import { instrumentHttp } from '../http/index.ts';
import { instrumentPino } from '../logs/index.ts';
import { startProcessMetrics } from '../process/index.ts';
import { warn } from './diagnostics.ts';
import type { SharedInstruments } from './shared-instruments.ts';

type Starter = (config: Config, parts: SharedInstruments) => void;

const STARTERS: Record<Instrumentation, Starter> = {
  grpc: instrumentGrpc,
  http: instrumentHttp,
  pino: instrumentPino,
  process: startProcessMetrics,
  child_process: instrumentChildProcesses,
};

export function startInstrumentations(config: Config, parts: SharedInstruments): void {
  for (const [name, start] of Object.entries(STARTERS) as [Instrumentation, Starter][]) {
    if (!config.instrumentations[name]) continue;
    try {
      start(config, parts);
    } catch (error) {
      warn(`the ${name} instrumentation could not start (${(error as Error).message}); the app runs without it.`);
    }
  }
}
