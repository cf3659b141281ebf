/**
 * Flushing at the end of the process without changing how it ends (docs/architecture.md, rule 3):
 * - natural exit: `beforeExit` flushes, bounded by RPCPLUGIN_SHUTDOWN_TIMEOUT;
 * - SIGTERM / SIGINT: when the app has no handler of its own, flush (bounded) and then let the signal
 *   end the process as it would have, so the exit status still says "killed by SIGTERM". When the app
 *   has a handler, it keeps control; the agent only starts a flush. A signal that arrives while the
 *   final flush runs ends the process at once: whoever sends it wants out now.
 * - `process.exit()` (and anything else that ends the process without returning to the event loop):
 *   the `exit` event sends what is still pending, synchronously (exit-export.ts);
 * - an uncaught exception or unhandled rejection that ends the process: the same synchronous send,
 *   and the process dies as it would have (same message, same exit code).
 * A listener of ours disables the runtime's default signal action, hence the re-raise.
 */
import process from 'node:process';
import type { AgentThread, RunningAgent } from '../preload/shared-state.ts';
import { timerDelay } from '../runtime/timer-delay.ts';
import { endingSignalArrived } from '../sdk/process-end.ts';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface ExitHookOptions {
  readonly timeoutMs: number;
  readonly thread: AgentThread;
  /** Whether the final flush has begun (agent.shutdown() was called). */
  isStopping(): boolean;
  /** Sends what is pending before returning, bounded by the timeout. */
  sendPendingNow(): void;
  /** Says what the final flush did not deliver within the timeout; the process ends without it. */
  reportNotFlushed(): void;
}

export function installExitHooks(agent: RunningAgent, options: ExitHookOptions): void {
  const { timeoutMs } = options;
  const signalListeners = new Map<NodeJS.Signals, () => void>();
  const removeSignalListeners = () => {
    for (const [signal, listener] of signalListeners) process.removeListener(signal, listener);
    signalListeners.clear();
  };
  // process.exit() and exits from an app's own signal handler never return to the event loop. While
  // the send blocks this thread, a signal must still end the process: without a listener of ours,
  // the runtime's default action does.
  process.once('exit', () => {
    removeSignalListeners();
    options.sendPendingNow();
  });
  /**
   * agent.shutdown() is bounded by the timeout and says whether it finished in time. The exporters'
   * sockets and timers never hold the process open (otlp-http-transport.ts), so while the final
   * flush runs, this timer does, for no longer than the timeout.
   */
  const shutdownHoldingOpen = () => {
    const holdOpen = setTimeout(() => {}, timerDelay(timeoutMs + 1000));
    return agent.shutdown().then((done) => {
      clearTimeout(holdOpen);
      if (!done) options.reportNotFlushed();
      return done;
    });
  };
  process.once('beforeExit', () => {
    void shutdownHoldingOpen().then((done) => {
      // What may still hold the event loop is an export we no longer wait for.
      if (!done) process.exit();
    });
  });
  // Signals and fatal errors belong to the process, and so to the main thread's agent. (Deno emits
  // no beforeExit in a worker; there the exit event does the flushing.)
  if (options.thread === 'worker') return;
  for (const signal of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) {
        void agent.forceFlush();
        return;
      }
      process.removeListener(signal, onSignal);
      signalListeners.delete(signal);
      if (options.isStopping()) {
        process.kill(process.pid, signal);
        return;
      }
      endingSignalArrived(signal);
      void shutdownHoldingOpen().then(() => process.kill(process.pid, signal));
    };
    try {
      process.on(signal, onSignal);
      signalListeners.set(signal, onSignal);
    } catch {
      // A runtime without this signal (Windows has no SIGTERM listener): nothing to hook.
    }
  }
  installFatalErrorHooks(options.sendPendingNow);
}

/**
 * The process is about to die of an error nobody handled: send what is pending now, because Deno
 * (2.9) emits no `exit` event then. Node and Bun do (Bun reports an unhandled rejection only there),
 * and by then nothing is left to send. A monitor handles nothing, so the process dies as it would have.
 */
function installFatalErrorHooks(sendPendingNow: () => void): void {
  process.on('uncaughtExceptionMonitor', () => {
    // With a handler of the app's, the process lives on: nothing to send in a hurry.
    if (process.listenerCount('uncaughtException') === 0) sendPendingNow();
  });
}
