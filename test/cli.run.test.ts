/**
 * `rpcplugin-telemetry run -- <command...>` with real processes: the CLI on Node 20 and Deno (no
 * process.execve: it spawns the command and relays) and on Node 22, 24 and 26 and Bun (it becomes
 * the command by execve), wrapping Node, Bun and Deno apps. Every run starts in a temporary directory
 * without node_modules, as a go-plugin host starts its plugin: the agent must still load (its
 * metrics reach a real OTLP receiver), stdin reaches the app, stdout is byte for byte the app's, and
 * the exit code or signal is the app's. Under `sh -c`, the example host drives the example plugin
 * through `run`, and a SIGKILLed shell does not leave the plugin behind.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import {
  baseEnvironment,
  fixture,
  isNodeLine,
  type NodeLine,
  REPO_ROOT,
  RUNTIME_BINARIES,
  type RunResult,
  spawnCollect,
} from './support/runtimes.ts';

const CLI = join(REPO_ROOT, 'dist', 'cli.mjs');
const APP = fixture('run-app.mjs');
const HOST = join(REPO_ROOT, 'examples', 'host', 'main.mjs');
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');

/**
 * The runtimes the CLI itself runs on: Node 20 and Deno have no process.execve (the spawn
 * fallback); Node 22, 24 and 26 and Bun exec.
 */
type CliRuntime = NodeLine | 'bun' | 'deno';
const CLI_RUNTIMES: readonly CliRuntime[] = ['node20', 'node22', 'node24', 'node26', 'bun', 'deno'];
type Wrapped = 'node' | 'bun' | 'deno';
const WRAPPED: readonly Wrapped[] = ['node', 'bun', 'deno'];

/** The app's command line on `wrapped`; a wrapped Node is the CLI's own, or Node 24. */
function appCommand(wrapped: Wrapped, cli: CliRuntime, script = APP): string[] {
  if (wrapped === 'node') return [RUNTIME_BINARIES[isNodeLine(cli) ? cli : 'node24'], script];
  if (wrapped === 'bun') return [RUNTIME_BINARIES.bun, script];
  return [RUNTIME_BINARIES.deno, 'run', '-A', script];
}

let cwd: string;
let receiver: OtlpReceiver;
before(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-run-'));
  receiver = await startOtlpReceiver();
});
after(async () => {
  await receiver.close();
  rmSync(cwd, { recursive: true, force: true });
});

/** The agent's settings for a run: metrics only, to the receiver, under a name of its own. */
function agentEnv(service: string): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
  };
}

interface Run extends RunResult {
  readonly child: ChildProcess;
}

/** Runs `command` with `input` on its stdin and a time limit, in the bare temporary directory. */
function runWithInput(
  command: readonly string[],
  input: Buffer | string,
  env: Record<string, string>,
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Run> {
  const [file = '', ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: { ...baseEnvironment(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      onStderr?.(stderr, child);
    });
    child.stdin.end(input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${command.join(' ')}\nstderr:\n${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(stdout), stderr, exitCode, signal, command: command.join(' '), child });
    });
  });
}

function wrap(cli: CliRuntime, command: readonly string[]): string[] {
  return [RUNTIME_BINARIES[cli], ...(cli === 'deno' ? ['run', '-A'] : []), CLI, 'run', '--', ...command];
}

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode} signal ${result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe('run: the agent starts in the command, from a directory without node_modules', () => {
  for (const cli of CLI_RUNTIMES) {
    for (const wrapped of WRAPPED) {
      test(`CLI on ${cli}, app on ${wrapped}: telemetry, stdin, stdout byte-identical, exit 0`, async () => {
        const command = appCommand(wrapped, cli);
        const input = `line one\nline two ${cli} ${wrapped}\n`;
        const direct = await runWithInput(command, input, { OTEL_SDK_DISABLED: 'true' });
        assert.equal(direct.exitCode, 0, explain(direct));

        const service = `run-${cli}-${wrapped}`;
        const wrappedRun = await runWithInput(wrap(cli, command), input, agentEnv(service));
        assert.equal(wrappedRun.exitCode, 0, explain(wrappedRun));
        assert.equal(wrappedRun.signal, null);
        assert.ok(wrappedRun.stdout.includes(input), explain(wrappedRun));
        assert.deepEqual(wrappedRun.stdout, direct.stdout);
        assert.equal(wrappedRun.stderr, '', explain(wrappedRun));
        const metrics = await receiver.waitFor(
          (r) => r.metrics().filter((metric) => metric.resource['service.name'] === service),
          { description: `metrics from ${service}` },
        );
        assert.equal(metrics[0]?.resource['process.runtime.name'], wrapped === 'node' ? 'nodejs' : wrapped);
      });
    }
  }
});

describe('run: the exit status is the command’s, and signals reach it', () => {
  // The fallback relays (Node 20, Deno) and the exec (Node 24, Bun) are both checked on each runtime.
  for (const cli of ['node20', 'node24', 'bun', 'deno'] as const) {
    for (const wrapped of WRAPPED) {
      const command = appCommand(wrapped, cli);
      const env = (end: string) => ({ ...agentEnv(`run-status-${cli}-${wrapped}`), RUN_APP_END: end });

      test(`CLI on ${cli}, app on ${wrapped}: exit code 3, then death by SIGTERM, are the wrapper's`, async () => {
        const three = await runWithInput(wrap(cli, command), '', env('exit:3'));
        assert.equal(three.exitCode, 3, explain(three));
        const killed = await runWithInput(wrap(cli, command), '', env('signal'));
        assert.equal(killed.signal, 'SIGTERM', explain(killed));
        assert.equal(killed.exitCode, null);
      });

      test(`CLI on ${cli}, app on ${wrapped}: SIGTERM sent to the wrapper reaches the app`, async () => {
        let sent = false;
        const run = await runWithInput(
          wrap(cli, command),
          '',
          { ...env('wait'), RUN_APP_STDIN: 'ignore' },
          (text, child) => {
            if (!sent && text.includes('ready\n')) {
              sent = true;
              child.kill('SIGTERM');
            }
          },
        );
        assert.ok(sent, explain(run));
        assert.equal(run.exitCode, 0, explain(run));
        assert.match(run.stdout.toString('utf8'), /run-app got SIGTERM\n$/);
      });
    }
  }
});

describe('run: errors are a shell’s', () => {
  const cli = (args: readonly string[]) => spawnCollect(RUNTIME_BINARIES.node24, [CLI, 'run', ...args], { cwd });

  test('no command: usage on stderr, exit 2', async () => {
    const result = await cli(['--']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout.length, 0);
    assert.match(
      result.stderr,
      /^rpcplugin-telemetry run: no command given\n\nUsage: rpcplugin-telemetry run \[--\] <command>/,
    );
  });

  test('a command not found: exit 127', async () => {
    const result = await cli(['--', 'no-such-command-rpcplugin', 'x']);
    assert.equal(result.exitCode, 127);
    assert.equal(result.stderr, 'rpcplugin-telemetry run: no-such-command-rpcplugin: command not found\n');
  });

  test('a file that is not executable, or a directory: exit 126', async () => {
    const script = join(cwd, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const file = await cli(['--', './not-executable.sh']);
    assert.equal(file.exitCode, 126);
    assert.equal(
      file.stderr,
      `rpcplugin-telemetry run: ./not-executable.sh: permission denied (${script} is not executable)\n`,
    );
    const directory = await cli(['--', '/']);
    assert.equal(directory.exitCode, 126);
    assert.equal(directory.stderr, 'rpcplugin-telemetry run: /: is a directory, not a program\n');
  });

  test('run --help prints its usage on stdout, exit 0', async () => {
    const result = await cli(['--help']);
    assert.equal(result.exitCode, 0);
    assert.match(result.stdout.toString('utf8'), /^Usage: rpcplugin-telemetry run \[--\] <command> \[args\.\.\.\]\n/);
    assert.equal(result.stderr, '');
  });
});

/** A shell command line of `words`, each quoted for sh. */
function shellLine(words: readonly string[]): string {
  return words.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ');
}

/** Every process below `pid` now (Linux /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    const children = [...parents].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...children);
    frontier = children;
  }
  return found;
}

/** Running: it exists and is not a zombie waiting for a parent (PID 1 here may never reap it). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('run under sh -c, as hosts launch plugins (dash forks for the last command)', {
  skip: process.platform !== 'linux' && 'reads /proc',
}, () => {
  for (const cli of ['node20', 'node24', 'bun', 'deno'] as const) {
    const plugin = shellLine(wrap(cli, appCommand('node', cli, PLUGIN)));

    test(`CLI on ${cli}: the example host drives the example plugin through sh -c and run`, async () => {
      const service = `run-sh-${cli}`;
      const result = await spawnCollect(process.execPath, [HOST, '--', 'sh', '-c', plugin], {
        cwd,
        env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
        timeoutMs: 30_000,
      });
      assert.equal(result.exitCode, 0, explain(result));
      const lines = result.stdout.toString('utf8').trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^handshake: 1\|1\|unix\|\/\S+\|grpc\|$/, explain(result));
      assert.deepEqual(lines.slice(1), [
        'health plugin = SERVING',
        'put greeting = hello',
        'put colour = blue',
        'get greeting = hello',
        'watch colour = blue (seq 2)',
        'watch greeting = hello (seq 1)',
      ]);
      await receiver.waitForServiceSpans(service, ['proto.KV/Put', 'proto.KV/Get', 'proto.KV/Watch']);
    });

    test(`CLI on ${cli}: a SIGKILLed shell does not leave the plugin running`, async (t) => {
      const shell = spawn('sh', ['-c', plugin], {
        cwd,
        env: {
          ...baseEnvironment(),
          ...agentEnv(`run-orphan-${cli}`),
          BASIC_PLUGIN: 'hello',
          PLUGIN_PROTOCOL_VERSIONS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const shellPid = shell.pid ?? 0;
      // Whatever is left when the test ends (it failed) is killed, so the suite can end.
      let below: number[] = [];
      t.after(() => {
        for (const pid of below.filter(isRunning)) process.kill(pid, 'SIGKILL');
        shell.stdout.destroy();
        shell.stderr.destroy();
      });
      let stderr = '';
      shell.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const handshake = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        const timer = setTimeout(() => reject(new Error(`no handshake line; stderr:\n${stderr}`)), 20_000);
        shell.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          if (stdout.includes('\n')) {
            clearTimeout(timer);
            resolve(stdout);
          }
        });
      });
      assert.match(handshake, /^1\|1\|unix\|/);
      below = descendants(shellPid);
      assert.ok(below.length > 0, 'the plugin is the shell’s child or grandchild');

      process.kill(shellPid, 'SIGKILL');
      // The plugin gets SIGTERM within about a second of losing its parent and flushes; 15 s is the bound.
      for (let waited = 0; below.some(isRunning) && waited < 15_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(below.filter(isRunning), [], `still running below the killed shell; stderr:\n${stderr}`);
    });
  }
});

describe('run: the other command forms of the README', () => {
  const forms: readonly [string, readonly string[]][] = [
    ['bun run <script>', [RUNTIME_BINARIES.bun, 'run', APP]],
    ['deno <script> (run without the word)', [RUNTIME_BINARIES.deno, '-A', APP]],
    ['sh -c with Node (NODE_OPTIONS --require)', ['sh', '-c', `exec '${RUNTIME_BINARIES.node22}' '${APP}'`]],
    ['sh -c with Bun (BUN_OPTIONS --preload)', ['sh', '-c', `exec '${RUNTIME_BINARIES.bun}' '${APP}'`]],
    ['sh -c with Deno (NODE_OPTIONS --require)', ['sh', '-c', `exec '${RUNTIME_BINARIES.deno}' run -A '${APP}'`]],
  ];
  forms.forEach(([name, command], index) => {
    test(`${name}: the agent starts, stdin and stdout pass through`, async () => {
      const service = `run-form-${index}`;
      const result = await runWithInput(wrap('node24', command), 'form input\n', agentEnv(service));
      assert.equal(result.exitCode, 0, explain(result));
      assert.ok(result.stdout.includes('form input\n'), explain(result));
      assert.equal(result.stderr, '', explain(result));
      await receiver.waitFor((r) => r.metrics().some((metric) => metric.resource['service.name'] === service), {
        description: `metrics from ${service}`,
      });
    });
  });

  test('NODE_OPTIONS and BUN_OPTIONS already set are kept, the preload after them', async () => {
    const result = await runWithInput(
      wrap('node24', ['sh', '-c', 'printf "%s\\n%s\\n" "$NODE_OPTIONS" "$BUN_OPTIONS"']),
      '',
      {
        NODE_OPTIONS: '--max-old-space-size=100',
        BUN_OPTIONS: '--smol',
      },
    );
    assert.equal(
      result.stdout.toString('utf8'),
      `--max-old-space-size=100 --require ${join(REPO_ROOT, 'dist', 'register.cjs')}\n--smol --preload ${join(REPO_ROOT, 'dist', 'register.mjs')}\n`,
    );
  });
});
