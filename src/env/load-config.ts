/**
 * loadConfig(env): the single pass from environment text to a typed Config. Each variable is resolved
 * on its own (parsed, or its default), then derive.ts joins them; the settings and problems of both
 * steps are recorded here. Pure (the only outside fact it asks for is whether a TLS file exists, and
 * that is injectable), never throws: a bad value becomes a problem and the default is used, as the
 * OpenTelemetry spec asks.
 */
import { statSync } from 'node:fs';
import type { Config } from './config.ts';
import { deriveConfig } from './derive.ts';
import { type EnvSource, readText } from './environment.ts';
import type { ConfigProblem } from './problems.ts';
import { REDACTED } from './secrets.ts';
import type { Setting, SettingSource } from './settings.ts';
import type { ParseContext } from './value-kinds.ts';
import { definitionOf, VARIABLE_NAMES, type Values, type VariableName } from './variables.ts';

export type { EnvSource, Setting, SettingSource };

export interface LoadedConfig {
  readonly config: Config;
  readonly problems: readonly ConfigProblem[];
  /** Every variable, in declaration order, with the value in force and where it came from. */
  readonly settings: readonly Setting[];
}

export interface LoadOptions {
  readonly fileExists?: (path: string) => boolean;
  /**
   * Variables set but hidden from `env`, with the reason: what unreadableVariables() finds in
   * process.env when `env` is a copy of it (Deno leaves non-UTF-8 values out of a copy).
   */
  readonly unreadable?: Readonly<Record<string, string>>;
}

// Errors that prove there is no such file (a path through a regular file, too long, a link loop, a NUL
// byte). Any other error, such as no permission to look (Deno without --allow-read), leaves the
// question to the exporter, which reports it when it reads.
const NO_SUCH_FILE = new Set(['ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'ERR_INVALID_ARG_VALUE']);

function fileExistsOnDisk(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  } catch (error) {
    return !NO_SUCH_FILE.has((error as { code?: unknown }).code as string);
  }
}

/** A problem about `name`, whose raw text (when the runtime gave it) is quoted with secrets hidden. */
function problemAbout(
  name: VariableName,
  text: string | undefined,
  issue: string,
  using: string,
  accepted?: string,
): ConfigProblem {
  const definition = definitionOf(name);
  return {
    variable: name,
    value: text === undefined ? undefined : definition.secret ? REDACTED : definition.kind.redactRaw(text),
    issue,
    accepted: accepted ?? definition.kind.accepted,
    using,
  };
}

/** A value as messages and the env table show it, secrets hidden; empty for nothing. */
function shown(name: VariableName, value: unknown): string {
  if (value === undefined) return '';
  const definition = definitionOf(name);
  return definition.secret ? REDACTED : definition.kind.show(value);
}

function describeDefault(name: VariableName): string {
  const definition = definitionOf(name);
  const text = definition.default === undefined ? '' : definition.kind.show(definition.default);
  if (text !== '') return `the default ${text}`;
  // An empty list says nothing ("the default (empty)"); its description does (the old RPC conventions).
  if (definition.defaultText) return `the default (${definition.defaultText})`;
  return definition.default === undefined ? 'nothing' : 'the default (empty)';
}

export function loadConfig(env: EnvSource, options: LoadOptions = {}): LoadedConfig {
  const context: ParseContext = { fileExists: options.fileExists ?? fileExistsOnDisk };
  const values: Record<string, unknown> = {};
  const sources = {} as Record<VariableName, SettingSource>;
  const problems: ConfigProblem[] = [];
  // Problems whose variable fell back to its default: the derivation may replace that default.
  const fellBack = new Map<VariableName, number[]>();
  const usingDefault = (name: VariableName, problem: ConfigProblem) => {
    fellBack.set(name, [...(fellBack.get(name) ?? []), problems.length]);
    problems.push(problem);
  };

  for (const name of VARIABLE_NAMES) {
    const definition = definitionOf(name);
    const read = readText(env, name);
    const unreadable = 'unreadable' in read ? read.unreadable : options.unreadable?.[name];
    const text = 'text' in read ? read.text : undefined;
    if (text === undefined) {
      values[name] = definition.default;
      sources[name] = 'default';
      if (unreadable !== undefined) {
        usingDefault(
          name,
          problemAbout(name, undefined, `is set but cannot be read: ${unreadable}`, describeDefault(name)),
        );
      }
      continue;
    }
    const parsed = definition.kind.parse(text, context);
    if (parsed.ok) {
      values[name] = parsed.value;
      sources[name] = 'environment';
      for (const issue of parsed.dropped) problems.push(problemAbout(name, text, issue, shown(name, parsed.value)));
    } else {
      values[name] = definition.default;
      sources[name] = 'default';
      usingDefault(name, problemAbout(name, text, parsed.issue, describeDefault(name)));
    }
  }

  const derivation = deriveConfig({
    // Each variable got its parsed value or its schema default, so every defaulted one has a value.
    values: values as Values,
    sources,
    text: (name) => {
      const read = readText(env, name);
      return 'text' in read ? read.text : undefined;
    },
  });
  for (const { variable, text, issue, using, accepted } of derivation.problems) {
    problems.push(problemAbout(variable, text, issue, using, accepted));
  }

  const inForce = new Map<VariableName, { value: unknown; source: SettingSource }>();
  for (const setting of derivation.settings) {
    const { name, value, source } = setting;
    inForce.set(name, { value, source });
    // A rejected value's message names what is really used when the derivation replaced the schema
    // default (the plugin role's shutdown timeout); inherited values are named by their defaultText.
    const { using } = setting;
    if (using !== undefined) {
      for (const index of fellBack.get(name) ?? []) problems[index] = { ...(problems[index] as ConfigProblem), using };
    }
  }
  const settings = VARIABLE_NAMES.map((name): Setting => {
    const { value, source } = inForce.get(name) ?? { value: values[name], source: sources[name] };
    return { name, value: shown(name, value), source };
  });
  return { config: derivation.config, problems, settings };
}
