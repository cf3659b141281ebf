/**
 * `rpcplugin-telemetry run -- <command...>`: runs a Node, Bun or Deno command (or anything that
 * starts one) with the agent preloaded (preload-plan.ts). Where the runtime running the CLI has
 * `process.execve` (Node 22.15+ and 23.11+, Bun; not Windows) this process becomes the command: no
 * wrapper stays between the command and its caller, so stdio, signals and the exit status are the
 * command's by construction. Elsewhere (Node 20, Deno) the command is a child with inherited stdio;
 * this process forwards signals to it, ends the way it ended, and stops it if its own parent goes away.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { type Command, isHelp, usageError } from './command.ts';
import { startParentWatchdog } from './parent-watchdog.ts';
import { type PreloadFiles, type PreloadPlan, planPreload } from './preload-plan.ts';
import { resolveCommand } from './resolve-command.ts';

const USAGE = `Usage: rpcplugin-telemetry run [--] <command> [args...]

Runs <command> with the agent preloaded, by the absolute path of this
package's preload, so it works from any working directory (go-plugin starts
a plugin in its host's). The preload is added the command's runtime's way:
  node ...                  node --import <file URL of register.mjs> ...
  bun ..., bun run ...      bun [run] --preload <register.mjs> ...
  deno run|serve|test ...   deno run --preload <register.mjs> ...
  anything else             NODE_OPTIONS gets --require <register.cjs> (Node,
  (npx, scripts, sh -c)     Deno) and BUN_OPTIONS --preload <register.mjs>
                            (Bun), after any options already there.

stdin, stdout and stderr are the command's own. On Node 22.15 or newer and
on Bun this process becomes the command (execve); on Node 20 and Deno it
starts it as a child and forwards signals to it.
Exits with the command's exit code, or by its signal; 127 when the command
is not found, 126 when it cannot be run.

Example (a go-plugin host's plugin command line):
  rpcplugin-telemetry run -- node plugin.mjs
`;

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** How often the spawn fallback checks whether its parent is still the one that started it. */
const PARENT_CHECK_MS = 1000;

type Execve = (file: string, args: readonly string[], env: Record<string, string | undefined>) => never;

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a Node, Bun or Deno command with the agent preloaded',
  usage: USAGE,
  run: async (args) => {
    if (isHelp(args[0])) {
      process.stdout.write(USAGE);
      return 0;
    }
    const argv = args[0] === '--' ? args.slice(1) : args;
    const name = argv[0];
    if (name === undefined) return usageError(runCommand, 'no command given');
    if (name.startsWith('-')) return usageError(runCommand, `unknown option: ${name} (the command follows --)`);

    const resolution = resolveCommand(name, process.env.PATH, process.cwd());
    if (!resolution.ok) {
      process.stderr.write(`rpcplugin-telemetry run: ${resolution.reason}\n`);
      return resolution.exitCode;
    }
    const plan = planPreload(argv, process.env, preloadFiles());
    const env = { ...process.env, ...plan.env };
    const execve = (process as unknown as { execve?: Execve }).execve;
    if (typeof execve === 'function' && process.platform !== 'win32') {
      execInto(execve, resolution.file, plan, env);
    }
    return spawnAndRelay(resolution.file, plan, env);
  },
};

/** dist/register.mjs and dist/register.cjs, beside this bundle (dist/cli.mjs). */
function preloadFiles(): PreloadFiles {
  return {
    esm: fileURLToPath(new URL('./register.mjs', import.meta.url)),
    cjs: fileURLToPath(new URL('./register.cjs', import.meta.url)),
  };
}

/** Becomes the command; returns only if execve(2) failed, after saying why. */
function execInto(execve: Execve, file: string, plan: PreloadPlan, env: Record<string, string | undefined>): void {
  // Node ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve: a listener
  // added and removed gives them back their default action, which a shell script expects.
  for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) {
    const ignore = () => {};
    process.on(signal, ignore);
    process.off(signal, ignore);
  }
  // process.execve is experimental; its warning would only be printed if exec failed, next to our message.
  process.removeAllListeners('warning');
  startParentWatchdog();
  try {
    execve(file, plan.argv, env);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    process.stderr.write(`rpcplugin-telemetry run: cannot execute ${file} (${code}); starting it as a child instead\n`);
  }
}

function spawnAndRelay(file: string, plan: PreloadPlan, env: Record<string, string | undefined>): Promise<number> {
  const [argv0 = file, ...args] = plan.argv;
  return new Promise((resolve) => {
    const child = spawn(file, args, { argv0, env, stdio: 'inherit' });
    // process.kill by pid rather than child.kill: Deno (2.9) reports a child it was asked to kill as
    // ended by that signal, even when the child handled it and exited 0.
    const signalChild = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(child.pid, signal);
      } catch {
        // Already gone: its exit is on its way.
      }
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, signalChild);
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid !== parent) signalChild('SIGTERM');
    }, PARENT_CHECK_MS);
    const finish = () => {
      clearInterval(watch);
      for (const signal of FORWARDED_SIGNALS) process.off(signal, signalChild);
    };
    child.on('error', (error) => {
      finish();
      process.stderr.write(`rpcplugin-telemetry run: cannot run ${plan.argv[0]}: ${error.message}\n`);
      resolve(126);
    });
    child.on('exit', (code, signal) => {
      finish();
      if (signal === null) resolve(code ?? 1);
      else resolve(endBySignal(signal));
    });
  });
}

/**
 * Ends this process by the child's signal, as a shell reports it; where Node keeps a signal from
 * ending the process (SIGUSR1 opens the inspector, SIGPIPE is ignored), 128 + its number instead.
 */
function endBySignal(signal: NodeJS.Signals): number {
  const fallback = 128 + (constants.signals[signal] ?? 0);
  if (signal !== 'SIGUSR1' && signal !== 'SIGPIPE') {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  return fallback;
}
