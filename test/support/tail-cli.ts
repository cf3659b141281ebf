/**
 * Runs the real `rpcplugin-telemetry tail` (dist/cli.mjs) as a child process, and the example host
 * and KV plugin (examples/) under the built agent with their telemetry sent to it: the demo's shape,
 * a host process calling a plugin process over gRPC, the plugin logging through pino.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BUILT_PRELOAD,
  documentedRun,
  REPO_ROOT,
  RUNTIME_BINARIES,
  type RunResult,
  type RuntimeName,
  spawnCollect,
} from './runtimes.ts';

export const CLI = join(REPO_ROOT, 'dist', 'cli.mjs');
const HOST = join(REPO_ROOT, 'examples', 'host', 'main.mjs');
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');

export interface RunningTail {
  /** The port it listens on (args get `--port 0` unless they name one). */
  port: number;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** Ctrl-C, then everything it printed and its exit code. */
  stop(): Promise<RunResult>;
  /** Its result when it stops by itself (--exit-after, or a failure to start). */
  result: Promise<RunResult>;
}

/** Starts `tail` with `args`; resolves once it listens, rejects if it exits first. */
export function startTail(args: readonly string[], env: Record<string, string> = {}): Promise<RunningTail> {
  const withPort = args.some((arg) => arg.startsWith('--port')) ? args : ['--port', '0', ...args];
  let child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  const stdout: Buffer[] = [];
  let stderr = '';
  return new Promise((resolve, reject) => {
    const result = spawnCollect(process.execPath, [CLI, 'tail', ...withPort], {
      env,
      timeoutMs: 120_000,
      onSpawn: (spawned) => {
        child = spawned;
        spawned.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
        spawned.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          const listening = /listening on http:\/\/\S+?:(\d+) /.exec(stderr);
          if (listening === null) return;
          resolve({
            port: Number(listening[1]),
            stdout: () => Buffer.concat(stdout).toString('utf8'),
            stop: () => {
              child?.kill('SIGINT');
              return result;
            },
            result,
          });
        });
      },
    });
    result.then(
      (done) => reject(new Error(`tail exited before listening (${done.exitCode}):\n${done.stderr}`)),
      reject,
    );
  });
}

/** The runtime's command line with the built agent preloaded its documented way, for an ES module. */
export function underAgent(runtime: RuntimeName): string[] {
  const { loader } = documentedRun(runtime, 'esm');
  const launch = loader.launch([BUILT_PRELOAD]);
  return [RUNTIME_BINARIES[runtime], ...(runtime === 'deno' ? ['run', '-A'] : []), ...(launch.args ?? [])];
}

/**
 * The example host on `runtime` launching the KV plugin on `runtime`, both under the agent, the host
 * as service kv-host and the plugin as kv-plugin; `env` is given to both (the host passes its own
 * environment on to the plugin). The plugin's own service name is set through env(1) in its command.
 */
export function runDemo(runtime: RuntimeName, env: Record<string, string>): Promise<RunResult> {
  const [binary, ...hostArgs] = underAgent(runtime);
  const plugin = ['/usr/bin/env', 'OTEL_SERVICE_NAME=kv-plugin', ...underAgent(runtime), PLUGIN];
  return spawnCollect(binary as string, [...hostArgs, HOST, '--', ...plugin], {
    // Without the host role (child_process): these tests read one trace per KV call. With it, the
    // whole session is one trace under the host's rpcplugin.plugin.launch span (docs/host.md).
    env: { OTEL_SERVICE_NAME: 'kv-host', RPCPLUGIN_INSTRUMENTATIONS: 'grpc,pino,process', ...env },
    timeoutMs: 60_000,
  });
}

/** The endpoint of a tail listening on `port`, by the name apps use by default. */
export function tailEndpoint(port: number): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${port}` };
}
