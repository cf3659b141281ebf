/**
 * The agent's life after start: flushing on demand, the final flush at shutdown (bounded by
 * RPCPLUGIN_SHUTDOWN_TIMEOUT), and what happens at each way the process can end (exit-hooks.ts).
 * This is the one place that knows whether the final flush has begun: it aborts `finalFlush`, and
 * the transports, which were handed that signal, stop retrying.
 */
import type { AgentThread, RunningAgent } from '../preload/shared-state.ts';
import { warn } from '../sdk/diagnostics.ts';
import { type ExitRequest, exportSynchronously } from './exit-export.ts';
import { installExitHooks } from './exit-hooks.ts';
import { settleWithin } from './settle-within.ts';

interface Provider {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface LifecycleParts {
  /** The tracer, meter and logger providers. */
  readonly providers: readonly Provider[];
  /** Called once the final flush begins, before anything is taken or shut down (ends open spans of ours). */
  readonly beforeFinalFlush?: () => void;
  /** Takes what the pipelines have not delivered yet, as requests for the synchronous send at exit. */
  readonly takePending: () => ExitRequest[];
  /** Aborted when the final flush begins: from then on each export is tried once. */
  readonly finalFlush: AbortController;
  readonly timeoutMs: number;
  readonly thread: AgentThread;
}

export function startLifecycle(parts: LifecycleParts): RunningAgent {
  const { providers, timeoutMs } = parts;
  let stopping: Promise<boolean> | undefined;
  // Once the asynchronous shutdown has had its turn (done or timed out), the exit event adds no second wait.
  let stopped = false;
  // The synchronous send happens once: on Node and Bun a fatal error's monitor and then the exit event
  // both ask for it, and a second metric collection would only repeat the cumulative points (and a
  // second loss line when the collector is down).
  let sentAtExit = false;
  const agent: RunningAgent = {
    async forceFlush() {
      await settleWithin(Promise.allSettled(providers.map((provider) => provider.forceFlush())), timeoutMs);
    },
    shutdown() {
      if (stopping === undefined) {
        parts.beforeFinalFlush?.();
        parts.finalFlush.abort();
        stopping = settleWithin(Promise.allSettled(providers.map((provider) => provider.shutdown())), timeoutMs).then(
          (done) => {
            stopped = true;
            return done;
          },
        );
      }
      return stopping;
    },
  };
  installExitHooks(agent, {
    timeoutMs,
    thread: parts.thread,
    isStopping: () => stopping !== undefined,
    sendPendingNow() {
      if (stopped || sentAtExit) return;
      sentAtExit = true;
      parts.beforeFinalFlush?.();
      parts.finalFlush.abort();
      let requests: ExitRequest[];
      try {
        requests = parts.takePending();
      } catch (error) {
        // Rule 2: the exit goes on as it would have, whatever taking the pending records did.
        warn(`telemetry pending at exit cannot be taken (${(error as Error).message}); it is lost.`);
        return;
      }
      sendPending(requests, timeoutMs);
    },
    reportNotFlushed() {
      // What the timed-out flush did not deliver is still queued, in flight, or recorded since the
      // last collection: counted the way the send at process.exit() counts it, so that every way of
      // ending says the same line.
      let requests: ExitRequest[] = [];
      try {
        requests = parts.takePending();
      } catch {
        // Counting is not worth an exception at exit: the line below goes without the counts.
      }
      if (requests.length === 0) {
        warn(`telemetry was not flushed within RPCPLUGIN_SHUTDOWN_TIMEOUT (${timeoutMs} ms); exiting without it.`);
        return;
      }
      const reason = `not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT, ${timeoutMs} ms`;
      warnLost(requests.map((request) => `${request.contents} (${reason})`));
    },
  });
  return agent;
}

/**
 * Sends the pending spans, log records and metrics (collected synchronously, pipelines/collect-now.ts)
 * over each signal's protocol, and says once what was lost.
 */
function sendPending(requests: ExitRequest[], timeoutMs: number): void {
  const outcomes = exportSynchronously(requests, timeoutMs);
  warnLost(
    requests.flatMap((request, index) => {
      const reason = outcomes[index];
      return reason === undefined ? [] : [`${request.contents} (${reason})`];
    }),
  );
}

/** The one line that says what the end of the process lost, whichever way it ended; nothing if nothing. */
function warnLost(lost: readonly string[]): void {
  if (lost.length > 0) warn(`telemetry pending at exit is lost: ${lost.join(', ')}.`);
}
