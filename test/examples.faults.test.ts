/**
 * Faults between the example host and the example KV plugin (issue 10, part 7), with the plugin under
 * the built agent on Node, Bun and Deno, against a real OTLP receiver:
 *
 * - the host is killed (SIGKILL) while a Watch call is open: the plugin notices its host is gone
 *   (examples/kv-plugin/host-watch.mjs) and exits by itself, and the spans it recorded (the Put, the
 *   Watch the host's death cancelled, its stop span) arrive;
 * - the plugin is killed (SIGKILL) during a Watch stream: the host's call fails, the host says so and
 *   exits 1 in bounded time, and its spans arrive, the Watch client span with an error status.
 *
 * No test waits on a clock of its own: each waits for an event, bounded by spawnCollect's timeout
 * or the receiver's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import {
  BUILT_PRELOAD,
  fixture,
  REPO_ROOT,
  RUNTIME_BINARIES,
  type RunResult,
  type RuntimeName,
  spawnCollect,
} from './support/runtimes.ts';

const HOST = join(REPO_ROOT, 'examples', 'host', 'main.mjs');
const WATCHING_HOST = fixture(join('examples', 'watching-host.mjs'));
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');
const PLUGIN_RUNTIMES: readonly RuntimeName[] = ['node20', 'bun', 'deno'];
/** How long a process may take to notice and end; past it the test fails, it does not hang. */
const BOUND_MS = 20_000;

function pluginCommand(runtime: RuntimeName): string[] {
  const preload = runtime === 'node20' ? ['--import', BUILT_PRELOAD.esm] : ['--preload', BUILT_PRELOAD.esm];
  const runArgs = runtime === 'deno' ? ['run', '-A'] : [];
  return [RUNTIME_BINARIES[runtime], ...runArgs, ...preload, PLUGIN];
}

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode} signal ${result.signal}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** Whether `pid` still runs: a zombie nobody reaped (a container's init may not) has ended. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntilEnded(pid: number): Promise<boolean> {
  for (let waited = 0; waited < BOUND_MS; waited += 100) {
    if (!running(pid)) return true;
    await sleep(100);
  }
  return !running(pid);
}

/** The process `parent` started (its only child). */
function childOf(parent: number): number {
  const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/);
  assert.equal(children.length, 1, `one child of ${parent}: ${children}`);
  return Number(children[0]);
}

function named(spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] {
  return spans.filter((span) => span.name === name);
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

describe('the host killed mid-call: the plugin notices, exits, and its telemetry arrives', { concurrency: 1 }, () => {
  for (const runtime of PLUGIN_RUNTIMES) {
    test(`plugin on ${runtime} under the agent`, async () => {
      const service = `faults-host-killed-${runtime}`;
      let pluginPid: number | undefined;
      const host = await spawnCollect(process.execPath, [WATCHING_HOST, '--', ...pluginCommand(runtime)], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: service, OTEL_METRICS_EXPORTER: 'none' },
        timeoutMs: BOUND_MS,
        onSpawn: (child) => {
          let stdout = '';
          child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString('utf8');
            pluginPid ??= Number(/^plugin pid (\d+)$/m.exec(stdout)?.[1]) || undefined;
            if (/^watching$/m.test(stdout)) child.kill('SIGKILL');
          });
        },
      });
      assert.equal(host.signal, 'SIGKILL', explain(host));
      assert.ok(pluginPid !== undefined, explain(host));
      try {
        assert.ok(
          await waitUntilEnded(pluginPid),
          `the plugin ${pluginPid} still runs ${BOUND_MS} ms after its host died`,
        );
      } finally {
        if (running(pluginPid)) process.kill(pluginPid, 'SIGKILL');
      }

      const spans = await receiver.waitForServiceSpans(service, [
        'proto.KV/Put',
        'proto.KV/Watch',
        'rpcplugin.plugin.stop',
      ]);
      assert.equal(named(spans, 'proto.KV/Put').length, 1);
      const [watch] = named(spans, 'proto.KV/Watch');
      assert.equal(watch?.kind, SpanKind.SERVER);
      assert.equal(watch?.attributes['rpc.grpc.status_code'], 1, 'the Watch was cancelled by the host’s death');
      const [stop] = named(spans, 'rpcplugin.plugin.stop');
      assert.equal(stop?.attributes['rpcplugin.plugin.stop.reason'], 'exit');
      assert.equal(stop?.attributes['process.exit.code'], 0);
    });
  }
});

describe('the plugin killed mid-stream: the host fails the call clearly, exits 1, and its telemetry arrives', {
  concurrency: 1,
}, () => {
  for (const runtime of PLUGIN_RUNTIMES) {
    test(`plugin on ${runtime} under the agent, host on node20 under the agent`, async () => {
      const service = `faults-plugin-killed-host-${runtime}`;
      let killed: number | undefined;
      const host = await spawnCollect(
        process.execPath,
        ['--import', BUILT_PRELOAD.esm, HOST, '--watch-count', '1000', '--', ...pluginCommand(runtime)],
        {
          // The plugin inherits the host's environment and so its service name: the host's spans are the CLIENT ones.
          env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: service, OTEL_METRICS_EXPORTER: 'none' },
          timeoutMs: BOUND_MS,
          onSpawn: (child) => {
            let stdout = '';
            child.stdout.on('data', (chunk: Buffer) => {
              stdout += chunk.toString('utf8');
              if (killed === undefined && (stdout.match(/^watch /gm) ?? []).length === 2) {
                killed = childOf(child.pid as number);
                process.kill(killed, 'SIGKILL');
              }
            });
          },
        },
      );
      assert.ok(killed !== undefined, explain(host));
      assert.equal(host.exitCode, 1, explain(host));
      const said = host.stderr.split('\n').filter((line) => line.startsWith('host: '));
      assert.deepEqual(
        said,
        [
          // grpc-js's words for a connection lost mid-call.
          'host: call failed: Connection dropped',
          'host: the plugin died during the calls (SIGKILL)',
          'host: plugin exited (SIGKILL)',
        ],
        explain(host),
      );

      const spans = await receiver.waitForServiceSpans(service, ['proto.KV/Put', 'proto.KV/Watch']);
      const hostSpans = spans.filter((span) => span.kind === SpanKind.CLIENT);
      assert.equal(named(hostSpans, 'proto.KV/Put').length, 2);
      const [watch] = named(hostSpans, 'proto.KV/Watch');
      assert.equal(
        watch?.status.code,
        StatusCode.ERROR,
        `${watch?.status.message} ${JSON.stringify(watch?.attributes)}`,
      );
      assert.equal(watch?.attributes['rpc.grpc.status_code'], 14, 'UNAVAILABLE: the connection was lost');
    });
  }
});
