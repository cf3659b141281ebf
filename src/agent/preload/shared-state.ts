/**
 * State shared by every copy of the agent in a process: the CommonJS and ESM bundles of the preload
 * and of the public API are separate module instances, so they meet on a global symbol.
 */
/** Where the agent runs: the main thread owns the process's signals; a worker only its own exit. */
export type AgentThread = 'main' | 'worker';

export interface RunningAgent {
  /** Exports what is buffered, within the timeout; the agent keeps running. */
  forceFlush(): Promise<void>;
  /**
   * Flushes and stops every provider, within the timeout; true when all of it was done in time.
   * Later calls return the same promise.
   */
  shutdown(): Promise<boolean>;
}

export interface SharedState {
  /** Set by the first preload to run; later ones (the other bundle, a second flag) do nothing. */
  preloaded?: boolean;
  agent?: RunningAgent;
}

const STATE_KEY = Symbol.for('rpcplugin-telemetry.state');

export function sharedState(): SharedState {
  const global = globalThis as typeof globalThis & { [STATE_KEY]?: SharedState };
  global[STATE_KEY] ??= {};
  return global[STATE_KEY];
}
