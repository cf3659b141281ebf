/**
 * Public API of rpcplugin-telemetry. The preload (`rpcplugin-telemetry/register`) needs none of it.
 * Everything here works whether or not the agent runs: without it, the tracer and meter are the
 * OpenTelemetry API's no-ops and shutdown() resolves at once.
 */
import { type Meter, metrics, type Tracer, trace } from '@opentelemetry/api';
import { sharedState } from './agent/state.ts';
import { VERSION } from './version.ts';

const SCOPE = 'rpcplugin-telemetry';

/** A tracer for your own RPC spans, from the agent's tracer provider (a no-op when the agent is off). */
export function getRpcTracer(): Tracer {
  return trace.getTracer(SCOPE, VERSION);
}

/** A meter for your own RPC metrics, from the agent's meter provider (a no-op when the agent is off). */
export function getRpcMeter(): Meter {
  return metrics.getMeter(SCOPE, VERSION);
}

/** Whether the preload started the agent in this process (false in worker threads and when disabled). */
export function isStarted(): boolean {
  return sharedState().agent !== undefined;
}

/**
 * Flushes and stops the agent, within RPCPLUGIN_SHUTDOWN_TIMEOUT. The agent already does this at
 * exit and on SIGTERM/SIGINT; call it when your app ends in a way those do not see.
 */
export async function shutdown(): Promise<void> {
  await sharedState().agent?.shutdown();
}

export {
  type Config,
  type ConfigProblem,
  describeProblem,
  type EnvSource,
  formatProblemReport,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  type Setting,
  type SettingSource,
  VARIABLE_NAMES,
  type VariableName,
} from './env/index.ts';
export { VERSION } from './version.ts';
