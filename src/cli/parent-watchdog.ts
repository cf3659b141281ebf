/**
 * After `run` has exec'd the command there is no wrapper left to notice that the process which
 * started it died. That matters under `sh -c`: dash forks for the last command instead of exec'ing
 * it, so a host that SIGKILLs "the plugin" kills the shell, and the plugin, a grandchild, would live
 * on. This watchdog, a small Node process holding none of the command's pipes, checks every second
 * which process is the command's parent: when it is no longer the one that started `run`, the
 * command gets SIGTERM (what the spawn fallback does when its own parent changes). It exits as soon
 * as the command has ended.
 *
 * It reads the parent from /proc (Linux), else from `ps -o ppid=` (macOS, the BSDs).
 */
import { spawn } from 'node:child_process';
import process from 'node:process';

// Plain JavaScript for `node -e` (CommonJS), with the pids as its arguments.
const WATCHDOG_SOURCE = `
const { readFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const [pid, parent] = process.argv.slice(1).map(Number);
function parentOf(target) {
  try {
    const stat = readFileSync('/proc/' + target + '/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch (error) {
    if (error.code !== 'ENOENT' || require('node:fs').existsSync('/proc/self/stat')) return undefined;
  }
  try {
    const text = execFileSync('ps', ['-o', 'ppid=', '-p', String(target)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return text.trim() === '' ? undefined : Number(text.trim());
  } catch {
    return undefined;
  }
}
setInterval(() => {
  // Once the command has ended this watchdog is reparented, and its job is done.
  if (process.ppid !== pid) process.exit(0);
  const current = parentOf(pid);
  if (current === undefined) process.exit(0);
  if (current !== parent) {
    try { process.kill(pid, 'SIGTERM'); } catch {}
    process.exit(0);
  }
}, 1000);
`;

/**
 * Starts the watchdog for this process, which is about to become the command: Node, this CLI's
 * runtime, runs it with an empty environment, so the user's NODE_OPTIONS do not apply to it.
 */
export function startParentWatchdog(): void {
  const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid), String(process.ppid)], {
    stdio: 'ignore',
    env: {},
  });
  child.unref();
}
