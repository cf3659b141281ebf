/**
 * The real go-plugin 1.0.1 host in Go (test/go-host, as test/examples.go-host.test.ts builds it)
 * launches the example KV plugin through `rpcplugin-telemetry run`, from a working directory without
 * node_modules (go-plugin starts the plugin in the host's own): directly with the CLI on Node 24
 * (execve) and on Node 20 (relaying), and behind `sh -c`. Put and Get answer, the plugin exits by
 * itself after Shutdown (through `run`), and its KV server spans reach a real OTLP receiver.
 * Skipped like that suite where Go or Debian's go-plugin sources are missing, except in CI.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { cleanPath, REPO_ROOT, RUNTIME_BINARIES, type RunResult, spawnCollect } from './support/runtimes.ts';

const HOST_SOURCES = join(REPO_ROOT, 'test', 'go-host');
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');
const CLI = join(REPO_ROOT, 'dist', 'cli.mjs');
const DEBIAN_GOPATH = '/usr/share/gocode';
const GO_PLUGIN_SOURCES = join(DEBIAN_GOPATH, 'src', 'github.com', 'hashicorp', 'go-plugin');

const goFound = cleanPath()
  .split(delimiter)
  .some((dir) => dir !== '' && existsSync(join(dir, 'go')));
const missing = !goFound ? 'go is not installed' : existsSync(GO_PLUGIN_SOURCES) ? undefined : 'no go-plugin sources';
const skip =
  missing !== undefined && process.env.CI !== 'true' ? `${missing} (see test/examples.go-host.test.ts)` : false;

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** Each plugin command line, as a host's configuration would hold it. */
const PLUGIN_COMMANDS: readonly [string, readonly string[]][] = [
  [
    'run on Node 24 (execve), plugin on Node 24',
    [RUNTIME_BINARIES.node24, CLI, 'run', '--', RUNTIME_BINARIES.node24, PLUGIN],
  ],
  [
    'run on Node 20 (relaying), plugin on Bun',
    [RUNTIME_BINARIES.node20, CLI, 'run', '--', RUNTIME_BINARIES.bun, PLUGIN],
  ],
  [
    "sh -c 'run -- deno run -A plugin' (a grandchild of the host)",
    [
      'sh',
      '-c',
      [RUNTIME_BINARIES.node24, CLI, 'run', '--', RUNTIME_BINARIES.deno, 'run', '-A', PLUGIN].map(quote).join(' '),
    ],
  ],
];

describe('a go-plugin 1.0.1 host launches the example plugin through rpcplugin-telemetry run', { skip }, () => {
  let workDir: string;
  let goHost: string;
  let receiver: OtlpReceiver;
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-go-host-run-'));
    goHost = join(workDir, 'go-host');
    const build = await spawnCollect('go', ['build', '-o', goHost, '.'], {
      cwd: HOST_SOURCES,
      env: { GO111MODULE: 'off', GOPATH: DEBIAN_GOPATH, GOFLAGS: '', GOPROXY: 'off' },
      timeoutMs: 300_000,
    });
    assert.equal(build.exitCode, 0, explain(build));
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  PLUGIN_COMMANDS.forEach(([name, plugin], index) => {
    test(`${name}: Put and Get answer, the plugin exits by itself, its spans arrive`, async () => {
      const service = `go-host-run-${index}`;
      // The host's working directory, which the plugin inherits: no node_modules there.
      const result = await spawnCollect(goHost, ['--', ...plugin], {
        cwd: workDir,
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_SERVICE_NAME: service,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
        },
        timeoutMs: 30_000,
      });
      assert.equal(result.exitCode, 0, explain(result));
      assert.deepEqual(result.stdout.toString('utf8').trimEnd().split('\n'), [
        'connected: protocol grpc, version 1, automtls false',
        'put greeting = hello',
        'put colour = blue',
        'get greeting = hello',
        'get colour = blue',
      ]);
      assert.ok(!result.stderr.includes('plugin failed to exit gracefully'), explain(result));
      await receiver.waitForServiceSpans(service, ['proto.KV/Put', 'proto.KV/Get', 'plugin.GRPCController/Shutdown']);
    });
  });
});
