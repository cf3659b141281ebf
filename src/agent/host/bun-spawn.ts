/**
 * Bun.spawn and Bun.spawnSync (`(cmd[], options?)` or `({ cmd, ...options })`) give the child the
 * current trace context. Their `env` replaces the environment; without one the child gets
 * process.env plus the carriers. No launch span here: the subprocess's stdout is a web
 * ReadableStream, which cannot be watched without reading it (docs/host.md).
 */
import type { Environment } from './carriers.ts';
import type { ChildContext } from './child-context.ts';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

export function instrumentBunSpawn(bun: Record<string, unknown>, children: ChildContext): void {
  for (const name of ['spawn', 'spawnSync']) {
    const original = bun[name];
    if (typeof original !== 'function') continue;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      return children.outermost(
        () => (original as AnyFunction).apply(this, withCarriers(args, children)),
        () => (original as AnyFunction).apply(this, args),
      );
    };
    Object.defineProperty(wrapper, 'name', { value: (original as AnyFunction).name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: (original as AnyFunction).length, configurable: true });
    bun[name] = wrapper;
  }
}

function withCarriers(args: readonly unknown[], children: ChildContext): unknown[] {
  const [first, second] = args;
  // Bun.spawn({ cmd, env, ... }): the options are the first argument.
  const at = Array.isArray(first) ? 1 : 0;
  const options = at === 0 ? first : second;
  if (at === 1 && options !== undefined && (typeof options !== 'object' || options === null)) return [...args];
  if (at === 0 && (typeof options !== 'object' || options === null)) return [...args];
  const env = (options as { env?: Environment } | undefined)?.env;
  const prepared = children.prepare(env, 'replace', false);
  if (prepared.env === undefined) return [...args];
  const called = [...args];
  called[at] = { ...(options as object | undefined), env: prepared.env };
  return called;
}
