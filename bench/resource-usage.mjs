// Runs one command and prints what it cost, as one JSON line on stdout. Run by Bun
// (bench/measure.mjs does), because Bun reports a child's rusage and Node cannot:
//
//   bun bench/resource-usage.mjs '{"command":"node","args":["-e","0"],"env":{…},"cwd":"…","untilFirstLine":false,"timeoutMs":60000}'
//
// Prints {"exitCode", "timedOut", "wallMs", "firstLineMs", "firstLine", "cpuMs", "maxRssBytes", "stderr"}:
// wall time from just before the spawn to the child's exit, and to its first stdout line (after which
// an `untilFirstLine` child is killed: SIGKILL, since contrib's preload catches SIGTERM and keeps the
// process running); its CPU time (user + system) and its peak RSS (the kernel's ru_maxrss of the
// waited child, which Bun reports in bytes). A child still running after timeoutMs is killed.
const job = JSON.parse(process.argv[2] ?? '{}');

const started = performance.now();
const child = Bun.spawn([job.command, ...job.args], {
  cwd: job.cwd,
  env: job.env,
  stdin: 'ignore',
  stdout: 'pipe',
  stderr: 'pipe',
});
const stderr = new Response(child.stderr).text();
// A bound on the whole run, so that a child that never ends cannot hang the benchmark.
let timedOut = false;
const timer = setTimeout(() => {
  timedOut = true;
  child.kill('SIGKILL');
}, job.timeoutMs ?? 60_000);

let firstLineMs = null;
let firstLine = null;
const decoder = new TextDecoder();
let seen = '';
for await (const chunk of child.stdout) {
  seen += decoder.decode(chunk, { stream: true });
  if (firstLineMs === null && seen.includes('\n')) {
    firstLineMs = performance.now() - started;
    firstLine = seen.slice(0, seen.indexOf('\n'));
    if (job.untilFirstLine) child.kill('SIGKILL');
  }
}
const exitCode = await child.exited;
const wallMs = performance.now() - started;
clearTimeout(timer);
const usage = child.resourceUsage();
process.stdout.write(
  `${JSON.stringify({
    exitCode,
    timedOut,
    wallMs,
    firstLineMs,
    firstLine,
    cpuMs: Number(usage.cpuTime.total) / 1000,
    maxRssBytes: usage.maxRSS,
    stderr: await stderr,
  })}\n`,
);
