/**
 * node:child_process (Node, and Bun's and Deno's implementations of it): spawn, spawnSync, exec,
 * execSync, execFile, execFileSync and fork give the child the current trace context, and a
 * go-plugin launch its span. The module is a builtin singleton: its exports are replaced here, then
 * `syncBuiltinESMExports()` makes ES-module imports of it see the wrappers (docs/host.md lists
 * what each runtime's ES-module imports see). Each wrapper keeps the original's `this`, return
 * value, exceptions, argument shapes (args and options optional, callback last), name and length,
 * and exec's and execFile's `util.promisify` form.
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';
import type { Environment } from './carriers.ts';
import type { ChildContext, PreparedChild } from './child-context.ts';
import type { LaunchedChild } from './launch.ts';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

interface Form {
  /** Takes an args array after the command (spawn, execFile, fork), so options come third. */
  readonly argsList: boolean;
  /** Returns a ChildProcess whose launch can be watched (not the sync forms). */
  readonly watched: boolean;
}

const FORMS: Readonly<Record<string, Form>> = {
  spawn: { argsList: true, watched: true },
  spawnSync: { argsList: true, watched: false },
  exec: { argsList: false, watched: true },
  execSync: { argsList: false, watched: false },
  execFile: { argsList: true, watched: true },
  execFileSync: { argsList: true, watched: false },
  fork: { argsList: true, watched: true },
};

const WRAPPED: unique symbol = Symbol.for('rpcplugin-telemetry.host.wrapped');

export function instrumentNodeChildProcess(children: ChildContext): void {
  // The builtin's one exports object, shared by every require and (after the sync) ES-module import.
  const exports = childProcess as unknown as Record<string, unknown>;
  for (const [name, form] of Object.entries(FORMS)) {
    const original = exports[name];
    if (typeof original !== 'function' || (original as { [WRAPPED]?: true })[WRAPPED]) continue;
    exports[name] = wrapLaunch(original as AnyFunction, name, form, children);
  }
  syncBuiltinESMExports();
}

function wrapLaunch(original: AnyFunction, name: string, form: Form, children: ChildContext): AnyFunction {
  const wrapper = function (this: unknown, ...args: unknown[]) {
    return children.outermost(
      () => launch(original, this, args, name, form, children),
      () => original.apply(this, args),
    );
  };
  copyIdentity(original, wrapper);
  const custom = (original as { [promisify.custom]?: unknown })[promisify.custom];
  if (typeof custom === 'function') {
    // promisify(exec) resolves to this, which calls the original exec: it needs the same wrapping.
    const promised = function (this: unknown, ...args: unknown[]) {
      return children.outermost(
        () => launch(custom as AnyFunction, this, args, name, form, children),
        () => (custom as AnyFunction).apply(this, args),
      );
    };
    copyIdentity(custom as AnyFunction, promised);
    Object.defineProperty(wrapper, promisify.custom, {
      value: promised,
      enumerable: false,
      writable: false,
      configurable: true,
    });
  }
  Object.defineProperty(wrapper, WRAPPED, { value: true });
  return wrapper;
}

function copyIdentity(original: AnyFunction, wrapper: AnyFunction): void {
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
}

function launch(
  original: AnyFunction,
  self: unknown,
  args: unknown[],
  name: string,
  form: Form,
  children: ChildContext,
): unknown {
  const at = optionsIndex(args, form.argsList);
  const given = args[at];
  const options = isOptions(given) ? given : undefined;
  // Anything else where options go (a string, a number) is left for the original to reject.
  if (options === undefined && given !== undefined && given !== null && typeof given !== 'function') {
    return original.apply(self, args);
  }
  const prepared = children.prepare(options?.env as Environment | undefined, 'replace', form.watched);
  const called = withEnvironment(args, at, options, given, prepared);
  let result: unknown;
  try {
    result = original.apply(self, called);
  } catch (error) {
    prepared.launch?.failed(error);
    throw error;
  }
  if (prepared.launch !== undefined) {
    const child = childOf(result);
    if (child === undefined) prepared.launch.failed(new Error(`${name} returned no child process`));
    else prepared.launch.started(child, commandOf(child, name, args[0]));
  }
  return result;
}

/** Where the options object is (or goes): after the command, and after the args array when the form takes one. */
function optionsIndex(args: readonly unknown[], argsList: boolean): number {
  if (!argsList) return 1;
  const second = args[1];
  if (Array.isArray(second)) return 2;
  // spawn(command, undefined, options): the args left out by name.
  if ((second === undefined || second === null) && args.length > 2) return 2;
  return 1;
}

function isOptions(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withEnvironment(
  args: readonly unknown[],
  at: number,
  options: Record<string, unknown> | undefined,
  given: unknown,
  prepared: PreparedChild,
): unknown[] {
  if (prepared.env === undefined) return [...args];
  const called = [...args];
  const replaced = { ...options, env: prepared.env };
  // No options (or null/undefined in their place): ours go there, and a callback moves one on.
  if (options !== undefined || given === undefined || given === null) called[at] = replaced;
  else called.splice(at, 0, replaced);
  return called;
}

/** The ChildProcess of a launch: returned by spawn, exec, execFile and fork; `.child` of their promisified forms. */
function childOf(result: unknown): LaunchedChild | undefined {
  const candidate =
    result instanceof Promise ? (result as { child?: unknown }).child : (result as LaunchedChild | undefined);
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  return typeof (candidate as LaunchedChild).emit === 'function' ? (candidate as LaunchedChild) : undefined;
}

/**
 * The executable, never the arguments (they can hold secrets): ChildProcess.spawnfile where the
 * runtime has it (the shell for exec, the runtime for fork), else the command given.
 */
function commandOf(child: LaunchedChild, name: string, command: unknown): string {
  const spawnfile = (child as { spawnfile?: unknown }).spawnfile;
  if (typeof spawnfile === 'string' && spawnfile !== '') return spawnfile;
  if (name === 'exec') return '/bin/sh';
  if (name === 'fork') return process.execPath;
  return typeof command === 'string' ? command : String(command);
}
