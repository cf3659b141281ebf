/**
 * Runs every listener of a call's stream in the call's context. grpc-js emits stream events from its
 * I/O callbacks, which carry whatever context was active when the connection was opened. The
 * context manager's bind(emitter) would wrap each listener and run each event through
 * context.with; here emit itself is wrapped once per stream, and an event emitted in the right
 * context already (the usual case on the client) costs one comparison.
 */
import { type Context, context } from '@opentelemetry/api';

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

export function emitInContext(emitter: object, target: Context): void {
  const stream = emitter as { emit: Emit };
  const emit = stream.emit;
  if (typeof emit !== 'function') return;
  stream.emit = function (this: unknown) {
    // biome-ignore lint/complexity/noArguments: passed on as they came, without an array per event.
    if (context.active() === target) return emit.apply(this, arguments as never);
    // biome-ignore lint/complexity/noArguments: as above.
    return context.with(target, () => emit.apply(this, arguments as never));
  };
}
