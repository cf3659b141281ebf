/**
 * `rpcplugin-telemetry env`: the configuration the agent would use here, as a table (variable, value,
 * source) grouped like the docs and fitted to the terminal's width, then the problems. `--changed`
 * keeps the rows that differ from an empty environment's; `--json` is for machines. Secrets are
 * redacted, and control and invisible characters escaped (src/env/printable.ts): the output is safe
 * for a terminal.
 */
import process from 'node:process';
import {
  type ConfigProblem,
  definitionOf,
  describeProblem,
  type EnvSource,
  GROUPS,
  type LoadedConfig,
  loadConfig,
  printable,
  printableJson,
  type Setting,
} from '../env/index.ts';
import { nearestPackage } from './app-package.ts';
import { type Command, isHelp, usageError } from './command.ts';
import { chunks, outputWidth, wrap } from './text-layout.ts';

export interface EnvCommandOptions {
  readonly json: boolean;
  readonly strict: boolean;
  /** Only the settings whose value differs from what an empty environment gives. */
  readonly changed?: boolean;
  /** Columns to fit the table into; 80 unless given. */
  readonly width?: number;
  /** Where the service name's package.json is looked for; the process's working directory unless given. */
  readonly cwd?: string;
}

export interface CommandResult {
  readonly output: string;
  readonly exitCode: number;
}

/** Below this many columns for values, a long value goes on lines of its own under its name. */
const NARROWEST_VALUE_COLUMN = 12;

export function runEnvCommand(env: EnvSource, options: EnvCommandOptions): CommandResult {
  const loaded = loadConfig(env);
  const strict = options.strict || loaded.config.strict;
  const exitCode = strict && loaded.problems.length > 0 ? 1 : 0;
  const settings = options.changed ? changedSettings(loaded.settings) : loaded.settings;
  const output = options.json
    ? renderJson(loaded, settings, strict)
    : renderTable(loaded, settings, options.width ?? 80, options.cwd ?? process.cwd());
  return { output, exitCode };
}

function changedSettings(settings: readonly Setting[]): Setting[] {
  const defaults = new Map(loadConfig({}).settings.map((setting) => [setting.name, setting.value]));
  return settings.filter((setting) => setting.source === 'environment' || defaults.get(setting.name) !== setting.value);
}

function renderJson({ config, problems }: LoadedConfig, settings: readonly Setting[], strict: boolean): string {
  const document = {
    enabled: config.enabled,
    role: config.plugin.role,
    roleReason: config.plugin.roleReason,
    strict,
    settings: settings.map(({ name, value, source }) => ({ name, value, source, group: definitionOf(name).group })),
    problems: problems.map((problem) => ({ ...problem, message: describeProblem(problem) })),
  };
  return `${printableJson(JSON.stringify(document, null, 2))}\n`;
}

interface Row {
  readonly name: string;
  readonly value: string;
  readonly source: string;
}

function renderTable(
  { config, problems }: LoadedConfig,
  settings: readonly Setting[],
  width: number,
  cwd: string,
): string {
  const state = config.enabled ? 'enabled' : 'disabled';
  const lines = wrap(
    `rpcplugin-telemetry configuration: telemetry ${state}, role ${config.plugin.role} (${config.plugin.roleReason})`,
    width,
    '',
    '    ',
  );
  for (const group of GROUPS) {
    const rows = settings
      .filter((setting) => definitionOf(setting.name).group === group)
      .map((setting) => ({ name: setting.name, value: shownValue(setting, cwd), source: setting.source }));
    if (rows.length > 0) lines.push('', `${group}:`, ...renderGroup(rows, width));
  }
  if (settings.length === 0) lines.push('', 'Every setting has its default value.');
  lines.push('', ...renderProblems(problems, width));
  return `${lines.join('\n')}\n`;
}

/**
 * One row per setting, `NAME  VALUE  SOURCE` in columns; a value too long for its column goes on
 * lines of its own below the name, indented, so no line is wider than `width`.
 */
function renderGroup(rows: readonly Row[], width: number): string[] {
  const nameWidth = Math.max('VARIABLE'.length, ...rows.map((row) => row.name.length));
  const sourceWidth = Math.max('SOURCE'.length, ...rows.map((row) => row.source.length));
  const room = width - 2 - nameWidth - 2 - 2 - sourceWidth;
  const valueWidth = Math.max(
    Math.min(room, Math.max('VALUE'.length, ...rows.map((row) => row.value.length))),
    NARROWEST_VALUE_COLUMN,
  );
  const format = (name: string, value: string, source: string) =>
    `  ${name.padEnd(nameWidth)}  ${value.padEnd(valueWidth)}  ${source}`.trimEnd();
  const lines = [format('VARIABLE', 'VALUE', 'SOURCE')];
  for (const row of rows) {
    if (row.value.length <= valueWidth && row.value.length <= room) {
      lines.push(format(row.name, row.value, row.source));
      continue;
    }
    lines.push(format(row.name, '', row.source));
    const indent = '      ';
    lines.push(...chunks(row.value, Math.max(width - indent.length, 1)).map((piece) => indent + piece));
  }
  return lines;
}

/**
 * The value, or for an unset variable what that means: the docs' default text, and for the service
 * name the package.json name the agent would most likely use.
 */
function shownValue({ name, value }: Setting, cwd: string): string {
  if (value !== '') return printable(value);
  if (name === 'OTEL_SERVICE_NAME') {
    const found = nearestPackage(cwd);
    if (found?.name !== undefined) return `unset: ${printable(found.name)} from ${printable(found.path)}`;
    return 'unset: unknown_service:<runtime> (no package.json name here)';
  }
  return `unset: ${definitionOf(name).defaultText ?? 'nothing'}`;
}

function renderProblems(problems: readonly ConfigProblem[], width: number): string[] {
  if (problems.length === 0) return ['No problems.'];
  const title = problems.length === 1 ? '1 problem:' : `${problems.length} problems:`;
  return [title, ...problems.flatMap((problem) => wrap(describeProblem(problem), width, '  - ', '    '))];
}

const USAGE = `Usage: rpcplugin-telemetry env [--changed] [--json] [--strict]

Shows the configuration the agent would use in this environment: every
variable with its value and source (default, environment, derived), secrets
redacted, then any problems. The table fits the terminal (else COLUMNS, else
80 columns).

Options:
  --changed   Only the variables whose value differs from the default.
  --json      Print it as JSON, for machines.
  --strict    Exit 1 when there are problems (as RPCPLUGIN_STRICT=true does).
  -h, --help  Show this help.
`;

const OPTIONS = new Set(['--changed', '--json', '--strict']);

export const envCommand: Command = {
  name: 'env',
  summary: 'Show the configuration the agent would use here',
  usage: USAGE,
  run: async (args) => {
    if (args.some(isHelp)) {
      process.stdout.write(USAGE);
      return 0;
    }
    const unknown = args.filter((option) => !OPTIONS.has(option));
    if (unknown.length > 0) return usageError(envCommand, `unknown option: ${unknown.join(' ')}`);
    const result = runEnvCommand(process.env, {
      json: args.includes('--json'),
      strict: args.includes('--strict'),
      changed: args.includes('--changed'),
      width: outputWidth(process.stdout, process.env),
    });
    process.stdout.write(result.output);
    return result.exitCode;
  },
};
