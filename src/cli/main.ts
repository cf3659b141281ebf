/**
 * The `rpcplugin-telemetry` command. Unlike the agent, the command owns its stdout.
 */
import process from 'node:process';
import { VERSION } from '../version.ts';
import { runEnvCommand } from './env-command.ts';
import { runTailCommand } from './tail-command.ts';

const USAGE = `Usage: rpcplugin-telemetry <command> [options]

Commands:
  env [--json] [--strict]   Show the configuration the agent would use in this environment:
                            every variable with its value and source (default, environment,
                            derived), secrets redacted, then any problems. Exits 1 when there are
                            problems and --strict or RPCPLUGIN_STRICT=true is given.
  tail [--port 4318] [--json] [--html FILE] ...
                            Receive OTLP on the agent's default endpoint and show traces, logs
                            and metrics in the terminal (tail --help for the options).

Options:
  -h, --help                Show this help.
  -v, --version             Show the version.

Preload the agent with:
  node --import rpcplugin-telemetry/register app.js
  bun --preload rpcplugin-telemetry/register app.ts
  deno run -A --preload npm:rpcplugin-telemetry/register app.ts
`;

function main(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'env') {
    const unknown = rest.filter((option) => option !== '--json' && option !== '--strict');
    if (unknown.length > 0) return usageError(`unknown option for env: ${unknown.join(' ')}`);
    const result = runEnvCommand(process.env, { json: rest.includes('--json'), strict: rest.includes('--strict') });
    process.stdout.write(result.output);
    return result.exitCode;
  }
  return usageError(`unknown command: ${command}`);
}

function usageError(message: string): number {
  process.stderr.write(`rpcplugin-telemetry: ${message}\n\n${USAGE}`);
  return 2;
}

if (process.argv[2] === 'tail') {
  runTailCommand(process.argv.slice(3)).then((code) => {
    process.exitCode = code;
  });
} else {
  process.exitCode = main(process.argv.slice(2));
}
