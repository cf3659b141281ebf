/**
 * The plugin's end, as a span: `rpcplugin.plugin.stop` runs from the moment the end began to the start
 * of the final flush (the lifecycle's beforeFinalFlush), with the same scope and parent as the start
 * span. How the end began, first one wins, except that the host's Shutdown outranks what follows it
 * (the Shutdown handler's own process.exit() is part of that stop):
 *
 * | reason | begins when |
 * |---|---|
 * | `shutdown_rpc` | go-plugin's `plugin.GRPCController/Shutdown` call arrives (told by grpc/server.ts) |
 * | `signal` | a SIGTERM or SIGINT the app does not handle arrives (told by lifecycle/exit-hooks.ts) |
 * | `exit` | `process.exit()` (its `exit` event) |
 * | `error` | an uncaught exception nobody handles |
 * | `natural` | the event loop empties (`beforeExit`) |
 * | `shutdown_api` | the app called rpcplugin-telemetry's `shutdown()` |
 *
 * The exit code is recorded when the process ends with one (not after a signal, which ends it by the
 * signal): the `exit` event's code, or `process.exitCode` at `beforeExit`.
 */

import process from 'node:process';
import { type Attributes, type Context, SpanKind, type Tracer } from '@opentelemetry/api';
import { watchEndingSignal, watchServerMethod } from '../sdk/process-end.ts';

export const STOP_SPAN_NAME = 'rpcplugin.plugin.stop';
/** go-plugin's controller service (hashicorp/go-plugin internal/plugin/grpc_controller.proto). */
export const SHUTDOWN_METHOD = '/plugin.GRPCController/Shutdown';

export type StopReason = 'shutdown_rpc' | 'signal' | 'exit' | 'error' | 'natural' | 'shutdown_api';

interface Beginning {
  readonly reason: StopReason;
  /** Epoch milliseconds, sub-millisecond (the time origin plus performance.now()). */
  readonly at: number;
  readonly signal?: string;
}

export interface StopWatch {
  /** Records the stop span; called once the final flush begins (later calls do nothing). */
  record(): void;
}

/** Watches how the end begins from now on; `record()` makes the span. */
export function watchForStop(tracer: Tracer, parent: Context): StopWatch {
  let beginning: Beginning | undefined;
  let exitCode: number | undefined;
  let recorded = false;
  const begin = (reason: StopReason, signal?: string) => {
    // The host's Shutdown is why the handler exits: it stays the reason. Otherwise the first cause wins.
    if (beginning === undefined || (reason === 'shutdown_rpc' && beginning.reason !== 'shutdown_rpc')) {
      beginning = { reason, at: performance.timeOrigin + performance.now(), ...(signal ? { signal } : {}) };
    }
  };

  watchServerMethod(SHUTDOWN_METHOD, () => begin('shutdown_rpc'));
  watchEndingSignal((signal) => begin('signal', signal));
  // Listeners of these events change nothing about how the process ends; they run before the
  // lifecycle's (registered later), which is where the final flush begins.
  process.once('beforeExit', (code: number) => {
    exitCode ??= typeof process.exitCode === 'number' ? process.exitCode : code;
    begin('natural');
  });
  process.once('exit', (code: number) => {
    exitCode = code;
    begin('exit');
  });
  process.on('uncaughtExceptionMonitor', () => {
    // With a handler of the app's, the process lives on.
    if (process.listenerCount('uncaughtException') === 0) begin('error');
  });

  return {
    record() {
      if (recorded) return;
      recorded = true;
      const now = performance.timeOrigin + performance.now();
      const { reason, at, signal } = beginning ?? { reason: 'shutdown_api' as const, at: now };
      const attributes: Attributes = { 'rpcplugin.role': 'plugin', 'rpcplugin.plugin.stop.reason': reason };
      if (signal !== undefined) attributes['rpcplugin.plugin.stop.signal'] = signal;
      // A signal's end has no exit code of its own (the process dies by the signal).
      if (exitCode !== undefined && reason !== 'signal') attributes['process.exit.code'] = exitCode;
      const span = tracer.startSpan(
        STOP_SPAN_NAME,
        { kind: SpanKind.INTERNAL, startTime: Math.min(at, now), attributes },
        parent,
      );
      span.end(now);
    },
  };
}
