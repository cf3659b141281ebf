/**
 * `rpcplugin-telemetry run -- <command...>` with real processes: the CLI on Node 20 (no
 * process.execve: it spawns the command and relays) and on Node 22, 24 and 26 (it becomes the
 * command by execve), wrapping Node, Bun and Deno apps. Every run starts in a temporary directory
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

/** Node 20 has no process.execve: the spawn fallback; the others exec. */
const CLI_NODES: readonly NodeLine[] = ['node20', 'node22', 'node24', 'node26'];
type Wrapped = 'node' | 'bun' | 'deno';
const WRAPPED: readonly Wrapped[] = ['node', 'bun', 'deno'];

/** The app's command line on `wrapped`; a wrapped Node is the CLI's own. */
function appCommand(wrapped: Wrapped, cliNode: NodeLine, script = APP): string[] {
  if (wrapped === 'node') return [RUNTIME_BINARIES[cliNode], script];
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

function wrap(cliNode: NodeLine, command: readonly string[]): string[] {
  return [RUNTIME_BINARIES[cliNode], CLI, 'run', '--', ...command];
}

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode} signal ${result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

describe('run: the agent starts in the command, from a directory without node_modules', () => {
  for (const cliNode of CLI_NODES) {
    for (const wrapped of WRAPPED) {
      test(`CLI on ${cliNode}, app on ${wrapped}: telemetry, stdin, stdout byte-identical, exit 0`, async () => {
        const command = appCommand(wrapped, cliNode);
        const input = `line one\nline two ${cliNode} ${wrapped}\n`;
        const direct = await runWithInput(command, input, { OTEL_SDK_DISABLED: 'true' });
        assert.equal(direct.exitCode, 0, explain(direct));

        const service = `run-${cliNode}-${wrapped}`;
        const wrappedRun = await runWithInput(wrap(cliNode, command), input, agentEnv(service));
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
  // The fallback relays (Node 20) and the exec (Node 24) are both checked on each runtime.
  for (const cliNode of ['node20', 'node24'] as const) {
    for (const wrapped of WRAPPED) {
      const command = appCommand(wrapped, cliNode);
      const env = (end: string) => ({ ...agentEnv(`run-status-${cliNode}-${wrapped}`), RUN_APP_END: end });

      test(`CLI on ${cliNode}, app on ${wrapped}: exit code 3, then death by SIGTERM, are the wrapper's`, async () => {
        const three = await runWithInput(wrap(cliNode, command), '', env('exit:3'));
        assert.equal(three.exitCode, 3, explain(three));
        const killed = await runWithInput(wrap(cliNode, command), '', env('signal'));
        assert.equal(killed.signal, 'SIGTERM', explain(killed));
        assert.equal(killed.exitCode, null);
      });

      test(`CLI on ${cliNode}, app on ${wrapped}: SIGTERM sent to the wrapper reaches the app`, async () => {
        let sent = false;
        const run = await runWithInput(
          wrap(cliNode, command),
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
