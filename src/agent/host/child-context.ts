/**
 * What every wrapped launch API asks before it starts a child: is this a go-plugin launch (then
 * its span starts), and which environment does the child get instead of the caller's (none: leave
 * the caller's alone)?
 */
import { context } from '@opentelemetry/api';
import { callerSetCarriers, carrierNames, carriersOf, type Environment, withCarriers } from './carriers.ts';
import { isPluginLaunch, type Launch, Launches } from './launch.ts';

export interface PreparedChild {
  /** The environment to pass instead of the caller's; undefined to pass the caller's options unchanged. */
  readonly env: Record<string, unknown> | undefined;
  readonly launch: Launch | undefined;
}

/**
 * How the API treats the env it is given: `replace` (node:child_process, Bun.spawn: the child gets
 * exactly that env, or process.env without one) or `merge` (Deno.Command: added to the process's).
 */
export type EnvironmentMode = 'replace' | 'merge';

export class ChildContext {
  private readonly launches = new Launches();
  /** Inside a wrapper: an API that calls another wrapped one (Bun's child_process calls Bun.spawn) is handled once. */
  private depth = 0;

  constructor(private readonly cookieKey: string) {}

  prepare(callerEnv: Environment | undefined, mode: EnvironmentMode, launches: boolean): PreparedChild {
    // Telemetry must never keep the app from starting its child: any failure here leaves the options as they are.
    try {
      return this.prepareOrThrow(callerEnv, mode, launches);
    } catch {
      return { env: undefined, launch: undefined };
    }
  }

  private prepareOrThrow(callerEnv: Environment | undefined, mode: EnvironmentMode, launches: boolean): PreparedChild {
    const launch = launches && isPluginLaunch(callerEnv, this.cookieKey) ? this.launches.start() : undefined;
    const names = carrierNames();
    if (callerSetCarriers(callerEnv, names)) return { env: undefined, launch };
    const carriers = carriersOf(launch?.context ?? context.active());
    if (Object.keys(carriers).length === 0) return { env: undefined, launch };
    const base = callerEnv ?? (mode === 'replace' ? process.env : {});
    return { env: withCarriers(base, names, carriers), launch };
  }

  /** Runs `call` as the outermost wrapper, or `passThrough` when a wrapper is already running. */
  outermost<T>(call: () => T, passThrough: () => T): T {
    if (this.depth > 0) return passThrough();
    this.depth += 1;
    try {
      return call();
    } finally {
      this.depth -= 1;
    }
  }
}
