/**
 * Where the end of the process begins, told by the parts of the agent that see it and read by the
 * plugin role's stop span (plugin/stop-span.ts). A registry here, in sdk/, so that the instrumented
 * areas and the lifecycle need not import each other (docs/architecture.md):
 *
 * - grpc/server.ts tells each server call's method as it arrives; the plugin role watches go-plugin's
 *   `plugin.GRPCController/Shutdown` (the gRPC area knows nothing of go-plugin);
 * - lifecycle/exit-hooks.ts tells a SIGTERM or SIGINT that ends the process (one the app does not handle).
 *
 * Nothing is kept when nobody watches: the cost per call is one Map lookup on an empty map.
 */

type Listener = () => void;

const methodWatchers = new Map<string, Listener>();
let signalWatcher: ((signal: string) => void) | undefined;

/** Calls `listener` as each server call of `path` (`/package.Service/Method`) arrives, before its handler. */
export function watchServerMethod(path: string, listener: Listener): void {
  methodWatchers.set(path, listener);
}

/** A server call of `path` has arrived (grpc/server.ts). */
export function serverCallArrived(path: string): void {
  if (methodWatchers.size === 0) return;
  const listener = methodWatchers.get(path);
  if (listener === undefined) return;
  try {
    listener();
  } catch {
    // A watcher's problem never reaches the call.
  }
}

/** Calls `listener` when a signal is about to end the process (the agent flushes, then re-raises it). */
export function watchEndingSignal(listener: (signal: string) => void): void {
  signalWatcher = listener;
}

/** A signal the app does not handle is ending the process (lifecycle/exit-hooks.ts). */
export function endingSignalArrived(signal: string): void {
  try {
    signalWatcher?.(signal);
  } catch {
    // The signal ends the process all the same.
  }
}
