/**
 * One trace from the host's launch to every call, across two processes: the example host
 * (examples/host) launches the example KV plugin (examples/kv-plugin), both under the built agent,
 * with the host and the plugin each on Node, Bun and Deno. Neither example knows of OpenTelemetry.
 * A real OTLP receiver decodes what both export: the host's launch span parents the plugin's start
 * span (through TRACEPARENT), and each of the host's KV client spans parents the plugin's server
 * span of that call (through gRPC metadata). See docs/host.md.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, type ReceivedSpan, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import { BUILT_PRELOAD, REPO_ROOT, RUNTIME_BINARIES, type RuntimeName, spawnCollect } from './support/runtimes.ts';

const HOST = join(REPO_ROOT, 'examples', 'host', 'main.mjs');
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');
const SIDES: readonly RuntimeName[] = ['node20', 'bun', 'deno'];
/**
 * Every host and plugin runtime against each other, and the newest Node as the host: its
 * AsyncLocalStorage is built on AsyncContextFrame, and the host's calls must still be in the launch's trace.
 */
const PAIRS: readonly (readonly [RuntimeName, RuntimeName])[] = [
  ...SIDES.flatMap((host) => SIDES.map((plugin) => [host, plugin] as const)),
  ['node26', 'node20'],
];
const CALLS = ['grpc.health.v1.Health/Check', 'proto.KV/Put', 'proto.KV/Get', 'proto.KV/Watch'];

/** `script` on `runtime` with the built agent preloaded the runtime's documented way. */
function underAgent(runtime: RuntimeName, script: string): string[] {
  const preload = runtime.startsWith('node') ? ['--import', BUILT_PRELOAD.esm] : ['--preload', BUILT_PRELOAD.esm];
  return [RUNTIME_BINARIES[runtime], ...(runtime === 'deno' ? ['run', '-A'] : []), ...preload, script];
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

/**
 * Deno 2.9.6 as the host with a Bun plugin dies by SIGSEGV (or SIGABRT) in about 1 run in 3 after
 * the last call, while the plugin shuts down, without the agent on either side too (examples/host
 * and examples/kv-plugin run bare): a Deno crash, not ours, and it loses the host's spans.
 */
const KNOWN_CRASH = { host: 'deno', plugin: 'bun' };

const byPid = (pid: number | undefined) => (span: ReceivedSpan) => span.resource['process.pid'] === pid;

describe('examples/host → examples/kv-plugin under the agent: one trace', { concurrency: 2 }, () => {
  for (const [hostRuntime, pluginRuntime] of PAIRS) {
    const crashes = hostRuntime === KNOWN_CRASH.host && pluginRuntime === KNOWN_CRASH.plugin;
    const skip = crashes ? 'Deno 2.9.6 hosting a Bun plugin crashes 1 run in 3, bare too (see KNOWN_CRASH)' : false;
    test(`host on ${hostRuntime}, plugin on ${pluginRuntime}`, { skip }, async () => {
      let hostPid: number | undefined;
      const [command, ...args] = underAgent(hostRuntime, HOST);
      const result = await spawnCollect(command as string, [...args, '--', ...underAgent(pluginRuntime, PLUGIN)], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
        timeoutMs: 60_000,
        onSpawn: (child) => {
          hostPid = child.pid;
        },
      });
      assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);

      const { hostSpans, pluginSpans } = await receiver.waitFor(
        (received) => {
          const hostSpans = received.spans().filter(byPid(hostPid));
          const launch = hostSpans.find((span) => span.name === 'rpcplugin.plugin.launch');
          if (launch === undefined) return false;
          const pluginSpans = received.spans().filter(byPid(launch.attributes['process.pid'] as number));
          const names = new Set(pluginSpans.map((span) => span.name));
          return ['rpcplugin.plugin.start', ...CALLS].every((name) => names.has(name)) && { hostSpans, pluginSpans };
        },
        { description: 'the launch span, the start span and the KV server spans', timeoutMs: 20_000 },
      );
      const launch = hostSpans.find((span) => span.name === 'rpcplugin.plugin.launch') as ReceivedSpan;
      assert.equal(launch.parentSpanId, '');
      assert.equal(launch.attributes['rpcplugin.handshake.transport'], 'unix');
      for (const span of [...hostSpans, ...pluginSpans]) assert.equal(span.traceId, launch.traceId, span.name);

      const start = pluginSpans.find((span) => span.name === 'rpcplugin.plugin.start') as ReceivedSpan;
      assert.equal(start.parentSpanId, launch.spanId, 'host launch → plugin start');
      assert.ok(launch.startTimeUnixNano <= start.startTimeUnixNano, 'the plugin started after its launch began');

      const clients = hostSpans.filter((span) => span.kind === SpanKind.CLIENT);
      for (const name of CALLS)
        assert.ok(
          clients.some((span) => span.name === name),
          `host client span ${name}`,
        );
      for (const client of clients) assert.equal(client.parentSpanId, launch.spanId, `${client.name} under the launch`);
      const servers = pluginSpans.filter((span) => span.kind === SpanKind.SERVER);
      for (const server of servers) {
        const parent = clients.find((client) => client.spanId === server.parentSpanId);
        assert.equal(parent?.name, server.name, `host client span → plugin server span ${server.name}`);
      }
      assert.equal(servers.filter((span) => span.name === 'proto.KV/Put').length, 2);
    });
  }
});
