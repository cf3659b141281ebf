/**
 * The agent's one context manager (AsyncLocalStorage on Node, Bun and Deno), kept here so that an
 * area can also enter a context for the rest of the current async chain (`attach`, which the
 * OpenTelemetry API does not expose): the host role does it for a plugin launch that had no parent.
 */
import { type Context, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

let manager: AsyncLocalStorageContextManager | undefined;

/** Registers the context manager as the API's global one. */
export function startContextManager(): void {
  manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
}

/**
 * Makes `entered` the active context of the current synchronous code and everything it schedules
 * from now on (AsyncLocalStorage.enterWith). False when no manager of ours runs.
 */
export function enterContext(entered: Context): boolean {
  if (manager === undefined) return false;
  manager.attach(entered);
  return true;
}
