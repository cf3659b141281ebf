/**
 * The `rpcplugin-telemetry` command. Unlike the agent, the command owns its stdout. Each subcommand
 * is one entry of COMMANDS (command.ts): its name, a one-line summary and its own --help.
 */
import process from 'node:process';
import { VERSION } from '../version.ts';
import { type Command, isHelp } from './command.ts';
import { envCommand } from './env-command.ts';
import { WATCHDOG_COMMAND, watchParent } from './parent-watchdog.ts';
import { runCommand } from './run-command.ts';
import { runTailCommand, TAIL_USAGE } from './tail-command.ts';

const tailCommand: Command = {
  name: 'tail',
  summary: 'Receive OTLP here; show traces, logs and metrics in the terminal',
  usage: TAIL_USAGE,
  run: runTailCommand,
};

const COMMANDS: readonly Command[] = [envCommand, runCommand, tailCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const list = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: rpcplugin-telemetry <command> [options]
       rpcplugin-telemetry <command> --help

Commands:
${list.join('\n')}

Options:
  -h, --help     Show this help.
  -v, --version  Show the version.

Preload the agent in an app with:
  node --import rpcplugin-telemetry/register app.js
  bun --preload rpcplugin-telemetry/register app.ts
  deno run -A --preload npm:rpcplugin-telemetry/register app.ts
or, from any working directory (a go-plugin host's plugin command line):
  rpcplugin-telemetry run -- node app.js
`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name) || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((command) => command.name === rest[0]) : undefined;
    process.stdout.write(topic?.usage ?? usage());
    return name === undefined ? 2 : 0;
  }
  // Not a user's command: the watchdog that `run` starts beside a command it exec'd.
  if (name === WATCHDOG_COMMAND) {
    watchParent(rest);
    return 0;
  }
  if (name === '-v' || name === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    process.stderr.write(`rpcplugin-telemetry: unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
