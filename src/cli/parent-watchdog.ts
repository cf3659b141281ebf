/**
 * After `run` has exec'd the command there is no wrapper left to notice that the process which
 * started it died. That matters under `sh -c`: dash forks for the last command instead of exec'ing
 * it, so a host that SIGKILLs "the plugin" kills the shell, and the plugin, a grandchild, would live
 * on. The watchdog, this CLI started again as `rpcplugin-telemetry __parent-watchdog <pid> <parent>`
 * (readable in `ps`), holds none of the command's pipes and checks every second which process is the
 * command's parent: when it is no longer the one that started `run`, the command gets SIGTERM (what
 * the spawn fallback does when its own parent changes). It ends as soon as the command has ended.
 *
 * It reads the parent from /proc (Linux), else from `ps -o ppid=` (macOS, the BSDs).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export const WATCHDOG_COMMAND = '__parent-watchdog';

const CHECK_MS = 1000;

/**
 * Starts the watchdog for this process, which is about to become the command, on this CLI's own
 * runtime (Node or Bun), with an empty environment so the user's NODE_OPTIONS do not apply to it.
 */
export function startParentWatchdog(): void {
  const cli = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [cli, WATCHDOG_COMMAND, String(process.pid), String(process.ppid)], {
    stdio: 'ignore',
    env: {},
  });
  child.unref();
}

/** The watchdog's loop; the arguments are the command's pid and the parent it must keep. */
export function watchParent(args: readonly string[]): void {
  const [pid, parent] = args.map(Number);
  if (!Number.isInteger(pid) || !Number.isInteger(parent)) return;
  setInterval(() => {
    // Once the command has ended this watchdog is reparented, and its job is done.
    if (process.ppid !== pid) process.exit(0);
    const current = parentOf(pid as number);
    if (current === undefined) process.exit(0);
    if (current !== parent) {
      try {
        process.kill(pid as number, 'SIGTERM');
      } catch {
        // Gone meanwhile.
      }
      process.exit(0);
    }
  }, CHECK_MS);
}

function parentOf(pid: number): number | undefined {
  if (existsSync('/proc/self/stat')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name, in parentheses, may hold spaces: the fields after it are plain.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined;
    }
  }
  try {
    const text = execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return text === '' ? undefined : Number(text);
  } catch {
    return undefined;
  }
}
