/**
 * A real go-plugin host, written in Go against hashicorp/go-plugin 1.0.1 (test/go-host, built here in
 * GOPATH mode from Debian's packages, no module downloads), drives the example KV plugin on Node 20
 * and 24, Bun and Deno, bare and with the built agent preloaded, with and without AutoMTLS: Put and
 * Get succeed, and after go-plugin's Kill() (Shutdown through the controller, then 2 s before
 * SIGKILL) the plugin has exited by itself with code 0. Under the agent its KV server spans reach a
 * real OTLP receiver. Without `go` (or Debian's go-plugin sources) the suite is skipped, except in CI,
 * where .ci/run installs them and a missing toolchain is a failure.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import process from 'node:process';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import {
  BUILT_PRELOAD,
  cleanPath,
  REPO_ROOT,
  RUNTIME_BINARIES,
  type RunResult,
  type RuntimeName,
  spawnCollect,
} from './support/runtimes.ts';

const HOST_SOURCES = join(REPO_ROOT, 'test', 'go-host');
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');
/** Where Debian's golang-*-dev packages put their sources: the GOPATH the host is built against. */
const DEBIAN_GOPATH = '/usr/share/gocode';
const GO_PLUGIN_SOURCES = join(DEBIAN_GOPATH, 'src', 'github.com', 'hashicorp', 'go-plugin');
const PLUGIN_RUNTIMES: readonly RuntimeName[] = ['node20', 'node24', 'bun', 'deno'];

/** Why the suite cannot run here, or undefined when it can. */
function missingToolchain(): string | undefined {
  const goFound = cleanPath()
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, 'go')));
  if (!goFound) return 'go is not installed';
  if (!existsSync(GO_PLUGIN_SOURCES)) return `go-plugin's sources are not in ${GO_PLUGIN_SOURCES}`;
  return undefined;
}

const missing = missingToolchain();
const INSTALL =
  'apt-get install golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev golang-golang-x-net-dev (what .ci/run does)';
// In CI the toolchain is installed by .ci/run: its absence fails the build instead of hiding it.
const skip = missing !== undefined && process.env.CI !== 'true' ? `${missing}; to run: ${INSTALL}` : false;

/** The plugin command line on `runtime`, with the built agent preloaded by its absolute path. */
function pluginCommand(runtime: RuntimeName, agent: boolean, extra: readonly string[] = []): string[] {
  const preload = agent ? [runtime.startsWith('node') ? '--import' : '--preload', BUILT_PRELOAD.esm] : [];
  const runArgs = runtime === 'deno' ? ['run', '-A'] : [];
  return [RUNTIME_BINARIES[runtime], ...runArgs, ...extra, ...preload, PLUGIN];
}

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

const KILL_WARNING = 'plugin failed to exit gracefully';

/** The host's results and verdict: every call answered, and the plugin exited with code 0 before the kill. */
function assertGracefulRun(result: RunResult, autoMTLS: boolean): void {
  assert.equal(result.exitCode, 0, explain(result));
  assert.deepEqual(
    result.stdout.toString('utf8').trimEnd().split('\n'),
    [
      `connected: protocol grpc, version 1, automtls ${autoMTLS}`,
      'put greeting = hello',
      'put colour = blue',
      'get greeting = hello',
      'get colour = blue',
    ],
    explain(result),
  );
  assert.ok(!result.stderr.includes(KILL_WARNING), explain(result));
  assert.match(result.stderr, /\[DEBUG\] go-host: plugin process exited: path=\S+ pid=\d+\n/, explain(result));
  assert.match(result.stderr, /^go-host: the plugin exited by itself after Shutdown \(code 0\)$/m, explain(result));
  if (autoMTLS) assert.match(result.stderr, /\[INFO\] {2}go-host: configuring client automatic mTLS\n/);
  else assert.doesNotMatch(result.stderr, /automatic mTLS/);
}

let workDir: string;
let goHost: string;
let receiver: OtlpReceiver;
let hanging: OtlpReceiver;

describe('a go-plugin 1.0.1 host in Go drives the example KV plugin', { skip, concurrency: 2 }, () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-go-host-'));
    goHost = join(workDir, 'go-host');
    // GOPATH mode against Debian's sources; GOPROXY=off makes any attempt to download an error.
    const build = await spawnCollect('go', ['build', '-o', goHost, '.'], {
      cwd: HOST_SOURCES,
      env: { GO111MODULE: 'off', GOPATH: DEBIAN_GOPATH, GOFLAGS: '', GOPROXY: 'off' },
      timeoutMs: 300_000,
    });
    assert.equal(build.exitCode, 0, `${explain(build)}\n(needs ${INSTALL})`);
    receiver = await startOtlpReceiver();
    hanging = await startOtlpReceiver({ hang: true });
  });
  after(() => {
    receiver?.close();
    hanging?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  const runHost = (hostArgs: readonly string[], plugin: readonly string[], env: Record<string, string> = {}) =>
    spawnCollect(goHost, [...hostArgs, '--', ...plugin], { env, timeoutMs: 30_000 });

  for (const runtime of PLUGIN_RUNTIMES) {
    for (const autoMTLS of [false, true]) {
      const hostArgs = autoMTLS ? ['-automtls'] : [];
      const mode = autoMTLS ? 'AutoMTLS' : 'plain gRPC';

      test(`plugin on ${runtime}, ${mode}: Put and Get answer, the plugin exits by itself after Shutdown`, async () => {
        assertGracefulRun(await runHost(hostArgs, pluginCommand(runtime, false)), autoMTLS);
      });

      test(`plugin on ${runtime} under the agent, ${mode}: the same, and its KV server spans arrive`, async () => {
        const service = `go-host-kv-plugin-${runtime}-${autoMTLS ? 'mtls' : 'plain'}`;
        const result = await runHost(hostArgs, pluginCommand(runtime, true), {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_SERVICE_NAME: service,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
        });
        assertGracefulRun(result, autoMTLS);
        const names = ['proto.KV/Put', 'proto.KV/Get', 'plugin.GRPCController/Shutdown'];
        const spans = await receiver.waitForServiceSpans(service, names);
        for (const name of names) {
          for (const span of spans.filter((s) => s.name === name)) assert.equal(span.kind, SpanKind.SERVER, name);
        }
        assert.equal(spans.filter((span) => span.name === 'proto.KV/Put').length, 2, 'two Puts');
        assert.equal(spans.filter((span) => span.name === 'proto.KV/Get').length, 2, 'two Gets');
        // go-plugin's Kill() sent Shutdown; the plugin's handler then exited with code 0.
        const stops = await receiver.waitForServiceSpans(service, ['rpcplugin.plugin.stop']);
        const stop = stops.filter((span) => span.name === 'rpcplugin.plugin.stop');
        assert.equal(stop.length, 1, 'one stop span');
        assert.equal(stop[0]?.attributes['rpcplugin.plugin.stop.reason'], 'shutdown_rpc');
        assert.equal(stop[0]?.attributes['process.exit.code'], 0);
      });
    }
  }

  // RPCPLUGIN_LOG_FORMAT=hclog: go-plugin parses the plugin's pino lines and logs each at its level,
  // its fields as hclog arguments (without it, each line is logged whole at debug).
  for (const runtime of PLUGIN_RUNTIMES) {
    test(`plugin on ${runtime} under the agent, RPCPLUGIN_LOG_FORMAT=hclog: the host logs the plugin's records at their level, with the span ids`, async () => {
      const service = `go-host-kv-plugin-${runtime}-hclog`;
      const result = await runHost([], pluginCommand(runtime, true), {
        RPCPLUGIN_LOG_FORMAT: 'hclog',
        KV_PLUGIN_LOG_LEVEL: 'debug',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: service,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      });
      assertGracefulRun(result, false);
      // go-plugin names the plugin's logger after the command's file name.
      const plugin = `go-host.${basename(RUNTIME_BINARIES[runtime])}`;
      const logged = (level: string, message: string) =>
        result.stderr
          .split('\n')
          .filter((line) => line.includes(` [${level}]`) && line.includes(` ${plugin}: ${message}: `));
      const puts = logged('INFO', 'put');
      assert.equal(puts.length, 2, explain(result));
      assert.equal(logged('INFO', 'get').length, 2, explain(result));
      assert.equal(logged('INFO', 'shutdown requested by the host').length, 1, explain(result));
      assert.equal(logged('DEBUG', 'plugin address').length, 1, explain(result));
      // No record left whole at debug: every line parsed.
      assert.doesNotMatch(result.stderr, new RegExp(`${plugin.replace('.', '\\.')}: \\{`), explain(result));

      const spans = await receiver.waitForServiceSpans(service, ['proto.KV/Put']);
      const greeting = puts.find((line) => / key=greeting( |$)/.test(line)) ?? '';
      assert.match(greeting, / @module=kv-plugin( |$)/, greeting);
      const traceId = / trace_id=([0-9a-f]{32})( |$)/.exec(greeting)?.[1];
      const spanId = / span_id=([0-9a-f]{16})( |$)/.exec(greeting)?.[1];
      assert.ok(
        spans.some((span) => span.name === 'proto.KV/Put' && span.traceId === traceId && span.spanId === spanId),
        `the Put record's trace_id and span_id are a Put server span's: ${greeting}`,
      );
    });
  }

  // A collector that never answers: the plugin's final flush (spans pending at Shutdown's
  // process.exit()) must end inside go-plugin's 2 s kill window with the default settings.
  for (const runtime of PLUGIN_RUNTIMES) {
    test(`plugin on ${runtime} under the agent, collector hanging: it still exits by itself before the kill`, async () => {
      const result = await runHost([], pluginCommand(runtime, true), { OTEL_EXPORTER_OTLP_ENDPOINT: hanging.url });
      assertGracefulRun(result, false);
      assert.match(result.stderr, /rpcplugin-telemetry: telemetry pending at exit is lost: /, explain(result));
    });
  }

  // The check above can fail: a plugin that ignores Shutdown is killed after 2 s, and the host says so.
  test('a plugin that does not exit after Shutdown: go-plugin kills it, the host exits 1 and says why', async () => {
    const stubborn = join(workDir, 'ignore-exit.cjs');
    writeFileSync(stubborn, 'process.exit = () => {};\nsetInterval(() => {}, 1000);\n');
    const result = await runHost([], pluginCommand('node20', false, ['--require', stubborn]));
    assert.equal(result.exitCode, 1, explain(result));
    assert.ok(result.stderr.includes(`[WARN]  go-host: ${KILL_WARNING}\n`), explain(result));
    assert.match(result.stderr, /plugin process exited: path=\S+ pid=\d+ error="signal: killed"\n/, explain(result));
    assert.match(
      result.stderr,
      /^go-host: the plugin did not exit within 2 s of Shutdown and was killed$/m,
      explain(result),
    );
  });
});
