/**
 * loadConfig(env): the single pass from environment text to a typed Config. Pure (the only outside
 * fact it asks for is whether a TLS file exists, and that is injectable), never throws: a bad value
 * becomes a problem and the default is used, as the OpenTelemetry spec asks.
 */
import { statSync } from 'node:fs';
import type { Config } from './config.ts';
import { deriveConfig } from './derive.ts';
import type { ConfigProblem } from './problems.ts';
import { REDACTED } from './secrets.ts';
import type { ParseContext } from './value-kinds.ts';
import { definitionOf, VARIABLE_NAMES, type Values, type VariableName } from './variables.ts';

export type EnvSource = Readonly<Record<string, string | undefined>>;

/** default: nothing set it; environment: the variable did; derived: computed from other variables. */
export type SettingSource = 'default' | 'environment' | 'derived';

export interface Setting {
  readonly name: VariableName;
  /** As `rpcplugin-telemetry env` shows it, secrets redacted; empty when nothing is set. */
  readonly value: string;
  readonly source: SettingSource;
}

export interface LoadedConfig {
  readonly config: Config;
  readonly problems: readonly ConfigProblem[];
  /** Every variable, in declaration order, with the value in force and where it came from. */
  readonly settings: readonly Setting[];
}

export interface LoadOptions {
  readonly fileExists?: (path: string) => boolean;
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

/** The values being resolved: what each variable holds, where it came from, and what went wrong. */
export class Resolution {
  readonly values = {} as Values;
  readonly sources = {} as Record<VariableName, SettingSource>;
  readonly problems: ConfigProblem[] = [];

  constructor(
    private readonly env: EnvSource,
    private readonly context: ParseContext,
  ) {}

  /** The environment's text for a name: trimmed, and undefined when unset or empty (spec: empty = unset). */
  text(name: string): string | undefined {
    const value = this.env[name];
    if (typeof value !== 'string') return undefined;
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }

  resolve(name: VariableName): void {
    const definition = definitionOf(name);
    const text = this.text(name);
    if (text === undefined) {
      this.set(name, definition.default as Values[typeof name], 'default');
      return;
    }
    const parsed = definition.kind.parse(text, this.context);
    if (parsed.ok) {
      this.set(name, parsed.value as Values[typeof name], 'environment');
      for (const issue of parsed.dropped) this.report(name, text, issue, this.show(name));
    } else {
      this.set(name, definition.default as Values[typeof name], 'default');
      this.report(name, text, parsed.issue, this.describeDefault(name));
    }
  }

  set<K extends VariableName>(name: K, value: Values[K] | undefined, source: SettingSource): void {
    this.values[name] = value as Values[K];
    this.sources[name] = source;
  }

  /** An unset variable takes the value of the one it inherits from (a signal's OTLP setting, a span limit). */
  inherit(name: VariableName, from: VariableName): void {
    if (this.values[name] !== undefined || this.values[from] === undefined) return;
    (this.values as Record<VariableName, unknown>)[name] = this.values[from];
    this.sources[name] = this.sources[from] === 'default' ? 'default' : 'derived';
  }

  /** A problem about `name`, whose raw text is quoted with secrets hidden. */
  report(name: VariableName, text: string, issue: string, using: string, accepted?: string): void {
    const definition = definitionOf(name);
    this.problems.push({
      variable: name,
      value: definition.secret ? REDACTED : definition.kind.redactRaw(text),
      issue,
      accepted: accepted ?? definition.kind.accepted,
      using,
    });
  }

  show(name: VariableName): string {
    const value = this.values[name];
    if (value === undefined) return '';
    const definition = definitionOf(name);
    return definition.secret ? REDACTED : definition.kind.show(value);
  }

  describeDefault(name: VariableName): string {
    const definition = definitionOf(name);
    const shown = definition.default === undefined ? '' : definition.kind.show(definition.default);
    if (shown !== '') return `the default ${shown}`;
    // An empty list says nothing ("the default (empty)"); its description does (the old RPC conventions).
    if (definition.defaultText) return `the default (${definition.defaultText})`;
    return definition.default === undefined ? 'nothing' : 'the default (empty)';
  }
}

export function loadConfig(env: EnvSource, options: LoadOptions = {}): LoadedConfig {
  const resolution = new Resolution(env, { fileExists: options.fileExists ?? fileExistsOnDisk });
  for (const name of VARIABLE_NAMES) resolution.resolve(name);
  const config = deriveConfig(resolution);
  const settings = VARIABLE_NAMES.map((name) => ({
    name,
    value: resolution.show(name),
    source: resolution.sources[name],
  }));
  return { config, problems: resolution.problems, settings };
}
