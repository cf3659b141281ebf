/**
 * One subcommand of `rpcplugin-telemetry`: main.ts keeps them in a table, prints each one's usage for
 * `<command> --help`, and lists their summaries in the top-level help.
 */
export interface Command {
  readonly name: string;
  /** One line for the command list, under 80 columns with the name. */
  readonly summary: string;
  /** The full help text, ending in a newline; printed on stdout for --help, on stderr after a usage error. */
  readonly usage: string;
  /** Runs with the words after the command name; resolves to the exit code. */
  run(args: readonly string[]): Promise<number>;
}

/** A usage error of `command`: the message and the command's usage on stderr, exit code 2. */
export function usageError(command: Pick<Command, 'name' | 'usage'>, message: string): number {
  process.stderr.write(`rpcplugin-telemetry ${command.name}: ${message}\n\n${command.usage}`);
  return 2;
}

export function isHelp(word: string | undefined): boolean {
  return word === '-h' || word === '--help';
}
