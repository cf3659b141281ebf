/**
 * The emit of a call's stream, wrapped once per stream, for two things:
 *
 * - Every listener runs in the call's context. grpc-js emits stream events from its I/O callbacks,
 *   which carry whatever context was active when the connection was opened. The context manager's
 *   bind(emitter) would wrap each listener and run each event through context.with; here emit itself
 *   is wrapped, and an event emitted in the right context already (the usual case on the client)
 *   costs one comparison.
 * - An 'error' that nobody handles is seen. emit('error') with no 'error' listener throws the error
 *   on to the app, which usually dies of it. grpc-js's client emits 'error' just before 'status', on
 *   which stream spans end, so without this the span of such a call would never end. The error is
 *   noted before emit throws it, not caught and thrown again: a rethrow would change where the
 *   runtime says it was thrown.
 */
import { type Context, context as contextApi } from '@opentelemetry/api';

// The API's exports are getters in its CommonJS build (two of them once bundled): read once, not per event.
const context = contextApi;

type Emit = (this: Listened, event: string | symbol, ...args: unknown[]) => boolean;

/** Told of an 'error' event that no listener will handle (emit is about to throw it). */
export type UnhandledError = (stream: Listened, error: unknown) => void;

interface Listened {
  emit: Emit;
  listenerCount(event: string): number;
}

export function emitInContext(emitter: object, target: Context, onUnhandledError?: UnhandledError): void {
  const stream = emitter as Listened;
  const emit = stream.emit;
  if (typeof emit !== 'function') return;
  stream.emit = function (this: Listened, event: string | symbol, error?: unknown) {
    if (event === 'error' && onUnhandledError !== undefined) noteUnhandled(this, error, onUnhandledError);
    // biome-ignore lint/complexity/noArguments: passed on as they came, without an array per event.
    if (context.active() === target) return emit.apply(this, arguments as never);
    // biome-ignore lint/complexity/noArguments: as above.
    return context.with(target, () => emit.apply(this, arguments as never));
  };
}

function noteUnhandled(stream: Listened, error: unknown, onUnhandledError: UnhandledError): void {
  try {
    if (stream.listenerCount('error') === 0) onUnhandledError(stream, error);
  } catch {
    // The app gets its error, not one of ours.
  }
}
