/**
 * Flushing at the end of the process without changing how it ends (design, hard rule 3):
 * - natural exit: `beforeExit` flushes, bounded by RPCPLUGIN_SHUTDOWN_TIMEOUT;
 * - SIGTERM / SIGINT: when the app has no handler of its own, flush (bounded) and then let the signal
 *   end the process as it would have, so the exit status still says "killed by SIGTERM". When the app
 *   has a handler, it keeps control; the agent only starts a flush.
 * - `process.exit()` (and anything else that ends the process without returning to the event loop):
 *   the `exit` event sends what is still pending, synchronously (exit-export.ts).
 * A listener of ours disables the runtime's default signal action, hence the re-raise.
 */
import process from 'node:process';
import type { RunningAgent } from '../preload/shared-state.ts';
import { warn } from '../sdk/diagnostics.ts';
import type { AgentThread } from '../sdk/start.ts';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function installExitHooks(
  agent: RunningAgent,
  timeoutMs: number,
  thread: AgentThread,
  exportPendingNow: () => void,
): void {
  // process.exit() and exits from an app's own signal handler never return to the event loop.
  process.once('exit', exportPendingNow);
  const notFlushed = () =>
    warn(`telemetry was not flushed within RPCPLUGIN_SHUTDOWN_TIMEOUT (${timeoutMs} ms); exiting without it.`);
  /**
   * agent.shutdown() is bounded by the timeout and says whether it finished in time. The exporters'
   * sockets and timers never hold the process open (otlp-http-transport.ts), so while the final
   * flush runs, this timer does, for no longer than the timeout.
   */
  const shutdownHoldingOpen = () => {
    const holdOpen = setTimeout(() => {}, timeoutMs + 1000);
    return agent.shutdown().then((done) => {
      clearTimeout(holdOpen);
      if (!done) notFlushed();
      return done;
    });
  };
  process.once('beforeExit', () => {
    void shutdownHoldingOpen().then((done) => {
      // What may still hold the event loop is an export we no longer wait for.
      if (!done) process.exit();
    });
  });
  // Signals belong to the process, and so to the main thread's agent. (Deno emits no beforeExit in a
  // worker; there the exit event does the flushing.)
  if (thread === 'worker') return;
  for (const signal of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) {
        void agent.forceFlush();
        return;
      }
      process.removeListener(signal, onSignal);
      void shutdownHoldingOpen().then(() => process.kill(process.pid, signal));
    };
    try {
      process.on(signal, onSignal);
    } catch {
      // A runtime without this signal (Windows has no SIGTERM listener): nothing to hook.
    }
  }
}
