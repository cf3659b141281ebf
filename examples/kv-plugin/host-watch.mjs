import process from 'node:process';

// Noticing that the host is gone. go-plugin's own server does not: a Go plugin whose host was killed
// lives on until its next write to the closed stderr pipe kills it (SIGPIPE). A Node, Bun or Deno
// plugin gets EPIPE instead and would serve nobody, forever. The plugin's parent is its host (or the
// shell the host started it through); when the parent dies the process is re-parented, and
// process.ppid, read afresh on every runtime, changes.

const CHECK_EVERY_MS = 500;

/** Calls `onGone(formerParent)` once, soon after the parent process has exited. */
export function watchHost(onGone) {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, CHECK_EVERY_MS);
  // The watch alone never keeps the plugin alive.
  timer.unref();
}
