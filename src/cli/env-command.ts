/**
 * `rpcplugin-telemetry env`: the configuration the agent would use here, as a table (variable, value,
 * source) grouped like the docs, then the problems. `--json` for machines. Secrets are redacted, and
 * control and invisible characters escaped (src/env/printable.ts): the output is safe for a terminal.
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
import { type Command, isHelp, usageError } from './command.ts';

// Rows are padded to the longest value up to this width; a longer value runs past its column rather
// than pushing every row as far.
const VALUE_COLUMN_LIMIT = 80;

export interface EnvCommandOptions {
  readonly json: boolean;
  readonly strict: boolean;
}

export interface CommandResult {
  readonly output: string;
  readonly exitCode: number;
}

export function runEnvCommand(env: EnvSource, options: EnvCommandOptions): CommandResult {
  const loaded = loadConfig(env);
  const strict = options.strict || loaded.config.strict;
  const exitCode = strict && loaded.problems.length > 0 ? 1 : 0;
  const output = options.json ? renderJson(loaded, strict) : renderTable(loaded);
  return { output, exitCode };
}

function renderJson({ config, problems, settings }: LoadedConfig, strict: boolean): string {
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

function renderTable({ config, problems, settings }: LoadedConfig): string {
  const lines: string[] = [];
  const state = config.enabled ? 'enabled' : 'disabled';
  lines.push(
    `rpcplugin-telemetry configuration: telemetry ${state}, role ${config.plugin.role} (${config.plugin.roleReason})`,
  );
  const nameWidth = Math.max(...settings.map((setting) => setting.name.length));
  const valueWidth = Math.min(VALUE_COLUMN_LIMIT, Math.max(...settings.map((setting) => shownValue(setting).length)));
  const format = (name: string, value: string, source: string) =>
    `  ${name.padEnd(nameWidth)}  ${value.padEnd(valueWidth)}  ${source}`.trimEnd();
  for (const group of GROUPS) {
    const inGroup = settings.filter((setting) => definitionOf(setting.name).group === group);
    if (inGroup.length === 0) continue;
    lines.push('', `${group}:`, format('VARIABLE', 'VALUE', 'SOURCE'));
    for (const setting of inGroup) lines.push(format(setting.name, shownValue(setting), setting.source));
  }
  lines.push('', renderProblems(problems));
  return `${lines.join('\n')}\n`;
}

/** The table needs something visible for "not set"; the docs' default text says what that means. */
function shownValue({ name, value }: Setting): string {
  if (value !== '') return printable(value);
  return `(${definitionOf(name).defaultText ?? 'unset'})`;
}

function renderProblems(problems: readonly ConfigProblem[]): string {
  if (problems.length === 0) return 'No problems.';
  const title = problems.length === 1 ? '1 problem:' : `${problems.length} problems:`;
  return [title, ...problems.map((problem) => `  - ${describeProblem(problem)}`)].join('\n');
}

const USAGE = `Usage: rpcplugin-telemetry env [--json] [--strict]

Shows the configuration the agent would use in this environment: every
variable with its value and source (default, environment, derived), secrets
redacted, then any problems.

Options:
  --json     Print it as JSON, for machines.
  --strict   Exit 1 when there are problems (as RPCPLUGIN_STRICT=true does).
  -h, --help Show this help.
`;

export const envCommand: Command = {
  name: 'env',
  summary: 'Show the configuration the agent would use here',
  usage: USAGE,
  run: async (args) => {
    if (args.some(isHelp)) {
      process.stdout.write(USAGE);
      return 0;
    }
    const unknown = args.filter((option) => option !== '--json' && option !== '--strict');
    if (unknown.length > 0) return usageError(envCommand, `unknown option: ${unknown.join(' ')}`);
    const result = runEnvCommand(process.env, { json: args.includes('--json'), strict: args.includes('--strict') });
    process.stdout.write(result.output);
    return result.exitCode;
  },
};
