/**
 * A read-only filesystem (issue 11, part 4): the app and the agent run where nothing can be written.
 * As root, file modes do not stop writes, so each run gets a real read-only mount: a new mount
 * namespace (`unshare --mount --map-root-user`, no privileges needed where user namespaces are
 * allowed) in which the working directory, HOME and TMPDIR (one scratch directory), the system
 * temporary directory and the repository (the app, node_modules, the built agent) are bound
 * read-only. The app first proves it (its writes there fail with EROFS), then serves and calls gRPC,
 * logs with pino and exits with process.exit(3). On Node 24, Bun and Deno: the calls work, the
 * exit code is 3, every span and log record reaches a real receiver (the network is not affected),
 * and stderr holds no agent line at all: the agent writes no file. Where the namespace cannot be
 * made (a CI runner without user namespaces), the tests are skipped and their name says why.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import {
  type AgentRun,
  fixture,
  isNodeLine,
  REPO_ROOT,
  RUNTIME_BINARIES,
  RUNTIME_RUNS,
  type RunResult,
  spawnCollect,
} from './support/runtimes.ts';

const ROWS: readonly AgentRun[] = RUNTIME_RUNS.filter((row) => !isNodeLine(row.runtime) || row.runtime === 'node24');
const CALLS = 5;
const SYSTEM_TMP = tmpdir();

/** Binds each directory given after the command's name read-only over itself, then runs the rest. */
const MOUNT_READ_ONLY =
  'for dir in "$@"; do [ "$dir" = -- ] && break; mount --bind -o ro "$dir" "$dir" || exit 97; shift; done; shift; exec "$@"';

function readOnlyCommand(dirs: readonly string[], command: readonly string[]): string[] {
  return ['--mount', '--map-root-user', 'sh', '-c', MOUNT_READ_ONLY, 'read-only', ...dirs, '--', ...command];
}

/** Why a read-only mount cannot be made here, or undefined when it can. */
function readOnlyUnavailable(): string | undefined {
  const probe = spawnSync(
    'unshare',
    readOnlyCommand([SYSTEM_TMP], ['sh', '-c', `! touch ${SYSTEM_TMP}/x 2>/dev/null`]),
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  if (probe.error !== undefined) return `unshare cannot run: ${probe.error.message}`;
  if (probe.status === 0) return undefined;
  return `no read-only mount here (unshare --mount --map-root-user: ${probe.stderr.trim() || `exit ${probe.status}`})`;
}

const unavailable = readOnlyUnavailable();

let receiver: OtlpReceiver;
let scratch: string;
before(async () => {
  receiver = await startOtlpReceiver();
  scratch = mkdtempSync(join(SYSTEM_TMP, 'rpcplugin-telemetry-readonly-'));
  for (const dir of ['cwd', 'home', 'tmp']) mkdirSync(join(scratch, dir));
});
after(async () => {
  await receiver.close();
  rmSync(scratch, { recursive: true, force: true });
});

function explain(run: RunResult): string {
  return `${run.command}\nexit ${run.exitCode} signal ${run.signal}\nstderr:\n${run.stderr}`;
}

function runReadOnly(row: AgentRun, service: string): Promise<RunResult> {
  const runtimeArgs = row.runtime === 'deno' ? ['run', '-A'] : [];
  const launch = row.loader.launch([
    { esm: join(REPO_ROOT, 'dist', 'register.mjs'), cjs: join(REPO_ROOT, 'dist', 'register.cjs') },
  ]);
  const command = [
    RUNTIME_BINARIES[row.runtime],
    ...runtimeArgs,
    ...(launch.args ?? []),
    fixture('faults/readonly-app.mjs'),
  ];
  return spawnCollect('unshare', readOnlyCommand([scratch, SYSTEM_TMP, REPO_ROOT], command), {
    cwd: join(scratch, 'cwd'),
    timeoutMs: 30_000,
    env: {
      HOME: join(scratch, 'home'),
      TMPDIR: join(scratch, 'tmp'),
      APP_END: 'exit',
      FIXTURE_CALLS: String(CALLS),
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      ...launch.env,
    },
  });
}

describe('a read-only filesystem: the app works and its telemetry arrives', { concurrency: 2 }, () => {
  for (const row of ROWS) {
    const name = `${row.runtime} ${row.loader.name}: cwd, HOME, TMPDIR and the repository read-only`;
    test(unavailable === undefined ? name : `${name} (skipped: ${unavailable})`, { skip: unavailable }, async () => {
      const service = `faults-readonly-${row.runtime}`;
      const run = await runReadOnly(row, service);
      const context = explain(run);
      for (const place of ['cwd', 'TMPDIR', 'HOME']) {
        assert.match(run.stderr, new RegExp(`^app: write ${place}: EROFS$`, 'm'), `really read-only\n${context}`);
      }
      assert.equal(run.exitCode, 3, context);
      assert.equal(run.signal, null, context);
      assert.equal(run.stdout.length, 0, context);
      assert.doesNotMatch(run.stderr, /rpcplugin-telemetry:/, `no agent line: it writes no file\n${context}`);
      assert.doesNotMatch(run.stderr, /Uncaught|^\s+at /m, context);

      const ofService = <T extends { resource: Record<string, unknown> }>(items: T[]) =>
        items.filter((item) => item.resource['service.name'] === service);
      const gets = ofService(receiver.spans()).filter(
        (span) => span.kind === SpanKind.SERVER && span.name.endsWith('/Get'),
      );
      assert.equal(gets.length, CALLS, `server spans for Get\n${context}`);
      const records = ofService(receiver.logs()).filter((record) => record.body === 'exit-delivery get');
      assert.equal(records.length, CALLS, `log records\n${context}`);
    });
  }
});
