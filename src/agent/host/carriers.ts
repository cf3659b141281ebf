/**
 * The trace context a child process gets in its environment: the OpenTelemetry environment
 * carriers (specification/context/env-carriers.md). The configured propagators write the context as
 * they would into request headers; each field becomes an environment variable of the same name in
 * upper case, other characters than letters, digits and `_` as `_` (`traceparent` → `TRACEPARENT`).
 * The child gets a copy: neither process.env nor the caller's env object is ever changed.
 */
import { type Context, propagation } from '@opentelemetry/api';

/** An environment as child-process APIs take it: values that are not strings are the caller's business. */
export type Environment = Readonly<Record<string, unknown>>;

const W3C_NAMES = ['TRACEPARENT', 'TRACESTATE', 'BAGGAGE'];

export function environmentName(field: string): string {
  return field.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The variables the carriers may use: W3C's three and whatever the configured propagators write. */
export function carrierNames(): readonly string[] {
  return [...new Set([...W3C_NAMES, ...propagation.fields().map(environmentName)])];
}

/** `context` as environment variables, written by the configured propagators; empty when they write nothing. */
export function carriersOf(context: Context): Record<string, string> {
  const fields: Record<string, string> = {};
  propagation.inject(context, fields);
  const carriers: Record<string, string> = {};
  for (const [field, value] of Object.entries(fields)) carriers[environmentName(field)] = value;
  return carriers;
}

/**
 * Whether the caller chose a carrier itself: its env has one with a value other than this
 * process's own. A copy of process.env (`{ ...process.env, FOO: '1' }`) still holds the context
 * this process was started with; that is not a choice, and the current context replaces it.
 */
export function callerSetCarriers(
  env: Environment | undefined,
  names: readonly string[],
  own: Environment = process.env,
): boolean {
  if (env === undefined) return false;
  return names.some((name) => env[name] !== undefined && env[name] !== own[name]);
}

/** A copy of `base` (every enumerable key, as child_process reads it) without old carriers, plus `carriers`. */
export function withCarriers(
  base: Environment,
  names: readonly string[],
  carriers: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const key in base) env[key] = base[key];
  for (const name of names) delete env[name];
  return Object.assign(env, carriers);
}
