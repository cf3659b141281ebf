/**
 * How `rpcplugin-telemetry run` adds the preload to a command, in the way of the command's runtime:
 * a flag after `node`, `bun` (or `bun run`) and `deno run|serve|test|bench`, since a flag reaches
 * only that process; through the environment for anything else (npx, a script, `sh -c`, `deno task`),
 * since the environment reaches the runtime wherever it is started below. Always by absolute path:
 * go-plugin starts a plugin in the host's working directory, where the package name may not resolve.
 * Pure: the caller resolves the command and the preload files.
 */
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PreloadFiles {
  /** Absolute path of dist/register.mjs. */
  readonly esm: string;
  /** Absolute path of dist/register.cjs. */
  readonly cjs: string;
}

export type Runtime = 'node' | 'bun' | 'deno';

export interface PreloadPlan {
  /** The runtime named by the command's first word, if any. */
  readonly runtime: Runtime | undefined;
  /** How the preload is added, for messages and tests. */
  readonly how: 'argument' | 'environment';
  /** The command's words with the preload flag added (the first word unchanged). */
  readonly argv: readonly string[];
  /** The variables to set on top of the inherited environment. */
  readonly env: Readonly<Record<string, string>>;
}

const RUNTIME_BY_NAME: Readonly<Record<string, Runtime>> = { node: 'node', nodejs: 'node', bun: 'bun', deno: 'deno' };

/** Deno's subcommands that run a module and take `--preload` (deno 2.x). */
const DENO_PRELOAD_SUBCOMMANDS = new Set(['run', 'serve', 'test', 'bench']);
/** Deno's other subcommands: the module they start (if any) is reached through the environment. */
const DENO_OTHER_SUBCOMMANDS = new Set([
  'add',
  'check',
  'clean',
  'compile',
  'completions',
  'coverage',
  'doc',
  'eval',
  'fmt',
  'info',
  'init',
  'install',
  'jupyter',
  'lint',
  'lsp',
  'outdated',
  'publish',
  'remove',
  'repl',
  'task',
  'types',
  'uninstall',
  'upgrade',
  'x',
]);

export function runtimeOf(command: string): Runtime | undefined {
  const name = basename(command).replace(/\.exe$/i, '');
  return Object.hasOwn(RUNTIME_BY_NAME, name) ? RUNTIME_BY_NAME[name] : undefined;
}

export function planPreload(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  files: PreloadFiles,
): PreloadPlan {
  const [command = '', ...rest] = argv;
  const runtime = runtimeOf(command);
  const withFlag = (at: number, flag: readonly string[]): PreloadPlan => ({
    runtime,
    how: 'argument',
    argv: [...argv.slice(0, at), ...flag, ...argv.slice(at)],
    env: {},
  });
  if (runtime === 'node') return withFlag(1, ['--import', pathToFileURL(files.esm).href]);
  if (runtime === 'bun') {
    // `bun --preload x run app.ts` is refused (Bun 1.4 prints `bun run`'s usage): after `run` it is taken.
    return withFlag(rest[0] === 'run' ? 2 : 1, ['--preload', files.esm]);
  }
  if (runtime === 'deno') {
    const subcommand = rest[0];
    if (subcommand !== undefined && DENO_PRELOAD_SUBCOMMANDS.has(subcommand))
      return withFlag(2, ['--preload', files.esm]);
    // `deno app.ts` and `deno -A app.ts` are `deno run` without the word.
    if (subcommand === undefined || !DENO_OTHER_SUBCOMMANDS.has(subcommand))
      return withFlag(1, ['--preload', files.esm]);
  }
  return { runtime, how: 'environment', argv, env: preloadEnvironment(env, files) };
}

/**
 * NODE_OPTIONS `--require register.cjs` serves Node (ESM and CommonJS apps alike) and Deno, which
 * honours only `--require` there; Bun ignores NODE_OPTIONS and reads BUN_OPTIONS. Existing options
 * are kept, ours come after them.
 */
function preloadEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  files: PreloadFiles,
): Record<string, string> {
  const append = (existing: string | undefined, option: string) =>
    existing === undefined || existing.trim() === '' ? option : `${existing} ${option}`;
  return {
    NODE_OPTIONS: append(env.NODE_OPTIONS, `--require ${optionValue(files.cjs)}`),
    BUN_OPTIONS: append(env.BUN_OPTIONS, `--preload ${optionValue(files.esm)}`),
  };
}

/** NODE_OPTIONS and BUN_OPTIONS split on spaces; a path with spaces is given in double quotes. */
function optionValue(path: string): string {
  return /\s/.test(path) ? JSON.stringify(path) : path;
}
