/**
 * Deno.Command gives the child the current trace context, whichever of output(), outputSync() or
 * spawn() runs it: the carriers go into the `env` the constructor is given, which Deno adds to the
 * process's environment (unless `clearEnv`). No launch span here: the spawned child's stdout is a
 * web ReadableStream that Deno's own output() reads through a private field, so it cannot be
 * watched without changing what the app sees (docs/host.md).
 */
import type { Environment } from './carriers.ts';
import type { ChildContext } from './child-context.ts';

type CommandClass = new (command: string | URL, options?: Record<string, unknown>) => object;

export function instrumentDenoCommand(deno: Record<string, unknown>, children: ChildContext): void {
  const Original = deno.Command as CommandClass | undefined;
  if (typeof Original !== 'function') return;
  const Command = class Command extends Original {
    constructor(command: string | URL, options?: Record<string, unknown>) {
      const prepared = children.outermost(
        () => children.prepare(options?.env as Environment | undefined, 'merge', false),
        () => undefined,
      );
      super(command, prepared?.env === undefined ? options : { ...options, env: prepared.env });
    }
  };
  deno.Command = Command;
}
