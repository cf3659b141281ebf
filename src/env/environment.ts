/**
 * Reading the environment's text. Empty means unset (spec), values are trimmed, and a variable the
 * runtime will not give is told apart from an unset one: Deno leaves a variable whose value is not
 * valid UTF-8 out of `process.env`'s keys (`Deno.env.toObject()` skips it, so a copy of the
 * environment lacks it: denoland/deno#29571) and throws InvalidData when it is read by name. Node and
 * Bun decode such a value with U+FFFD for each bad byte and give it like any other.
 */
import { VARIABLE_NAMES } from './variables.ts';

export type EnvSource = Readonly<Record<string, string | undefined>>;

/** A variable's text; `unreadable` says why the runtime would not give it. */
export type EnvText = { readonly text: string | undefined } | { readonly unreadable: string };

const NOT_UTF8 = 'its value is not valid UTF-8';

/** The text of `name`: trimmed, undefined when unset or empty; `env` may be a live process.env that throws. */
export function readText(env: EnvSource, name: string): EnvText {
  let value: string | undefined;
  try {
    value = env[name];
  } catch (error) {
    // Deno's words for a value that is not UTF-8; the message would quote its bytes, so it is not used.
    if ((error as { name?: unknown } | null)?.name === 'InvalidData') return { unreadable: NOT_UTF8 };
    // Anything else (NotCapable under --deny-env=NAME) comes whether or not the variable is set: the
    // user kept it from us, so it counts as unset.
    return { text: undefined };
  }
  if (typeof value !== 'string') return { text: undefined };
  const trimmed = value.trim();
  return { text: trimmed === '' ? undefined : trimmed };
}

/**
 * The variables of the schema that `live` (process.env) has but will not give, with the reason. A
 * copy of process.env (what the preload hands to loadConfig) cannot show them; only the names missing
 * from `copy` are asked for, so on Node and Bun this asks for unset names and finds nothing.
 */
export function unreadableVariables(live: EnvSource, copy: EnvSource): Readonly<Record<string, string>> {
  const unreadable: Record<string, string> = {};
  for (const name of VARIABLE_NAMES) {
    if (copy[name] !== undefined) continue;
    const read = readText(live, name);
    if ('unreadable' in read) unreadable[name] = read.unreadable;
  }
  return unreadable;
}
