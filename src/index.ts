/**
 * Public API of rpcplugin-telemetry. The preload (`rpcplugin-telemetry/register`) needs none of it.
 * Everything here works whether or not the agent runs: without it, the tracer and meter are the
 * OpenTelemetry API's no-ops and shutdown() resolves at once.
 */

import process from 'node:process';
import { isMainThread } from 'node:worker_threads';
import { type Meter, metrics, type Tracer, trace } from '@opentelemetry/api';
import { loadAgent } from './agent/preload/load-agent.ts';
import { sharedState } from './agent/preload/shared-state.ts';
import { shouldStartAgent } from './agent/preload/start-decision.ts';
import { loadConfig } from './env/index.ts';
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
 * Starts the agent in the current worker thread, for telemetry made there: the preload starts it on
 * the main thread only (Node runs preloads again in every worker; Bun and Deno do not). Call it first
 * thing in the worker's script. Reads the same environment; does nothing when telemetry is off, and
 * on the main thread. Returns whether the agent runs in this thread.
 */
export function startInWorker(): boolean {
  if (isMainThread) return isStarted();
  const state = sharedState();
  if (state.agent === undefined) {
    // The main thread has reported any configuration problem already.
    const { config } = loadConfig({ ...process.env });
    if (shouldStartAgent(config, { explain: false })) state.agent = loadAgent()?.startAgent(config, 'worker');
  }
  return state.agent !== undefined;
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
