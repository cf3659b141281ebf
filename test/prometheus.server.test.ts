/**
 * OTEL_METRICS_EXPORTER=prometheus with a real Prometheus server (test/support/prometheus-server.ts):
 * a plugin-like gRPC app (test/fixtures/process/grpc-app.mjs) runs on each runtime with the agent's
 * endpoint on loopback, one Prometheus scrapes them all every second, and the tests ask Prometheus'
 * HTTP API what a dashboard would: the process memory series with its labels (and its value against
 * /proc), the other process series as each runtime measures them, and the RPC duration histogram.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { closedPort } from './support/otlp-receiver.ts';
import {
  PROMETHEUS_SETUP,
  type PrometheusServer,
  prometheusBinary,
  type Sample,
  startPrometheus,
} from './support/prometheus-server.ts';
import {
  fixture,
  type Loader,
  processRuntimeName,
  REPO_ROOT,
  RUNTIME_RUNS,
  type RunResult,
  type RuntimeName,
  runApp,
} from './support/runtimes.ts';

const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;

interface Row {
  readonly runtime: RuntimeName;
  readonly loader: Loader;
  readonly runtimeName: string;
  /** Series only some runtimes measure (docs/process-metrics.md). */
  readonly v8Heap: boolean;
  readonly eventLoopDelay: boolean;
}

const ROWS: readonly Row[] = RUNTIME_RUNS.map(({ runtime, loader }) => ({
  runtime,
  loader,
  runtimeName: processRuntimeName(runtime),
  // Bun's engine is JavaScriptCore; Deno's event-loop monitor does not see a blocked loop.
  v8Heap: runtime !== 'bun',
  eventLoopDelay: runtime !== 'deno',
}));

/** Get calls the fixture makes that succeed; one more answers NOT_FOUND. */
const CALLS = 5;

interface RunningApp {
  readonly row: Row;
  readonly address: string;
  readonly pid: number;
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly done: Promise<RunResult>;
}

/**
 * Starts the gRPC fixture with the Prometheus exporter on `port`; `started` gets it as soon as it is
 * spawned (so that it is stopped whatever happens next), and the promise resolves once it serves.
 */
async function startApp(row: Row, port: number, started: RunningApp[]): Promise<void> {
  let spawned: ChildProcessByStdio<null, Readable, Readable> | undefined;
  let serving: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    serving = resolve;
  });
  const done = runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('process/grpc-app.mjs'),
    timeoutMs: 60_000,
    env: {
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      OTEL_SERVICE_NAME: `kv-plugin-${row.runtime}`,
      FIXTURE_CALLS: String(CALLS),
    },
    onSpawn(child) {
      spawned = child;
      child.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('app: serving')) serving();
      });
    },
  });
  if (spawned === undefined) throw new Error(`${row.runtime}: the app was not spawned`);
  started.push({ row, address: `127.0.0.1:${port}`, pid: spawned.pid ?? 0, child: spawned, done });
  await Promise.race([
    ready,
    done.then((result) => {
      throw new Error(`the app ended before serving: ${result.command}\n${result.stderr}`);
    }),
  ]);
}

function vmRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024;
}

/** The one sample of each runtime, by runtime label. */
function byRuntime(samples: readonly Sample[]): Map<string, Sample[]> {
  const result = new Map<string, Sample[]>();
  for (const sample of samples) {
    const runtime = sample.metric.runtime ?? '';
    result.set(runtime, [...(result.get(runtime) ?? []), sample]);
  }
  return result;
}

const SCOPE_LABELS = { otel_scope_name: 'rpcplugin-telemetry/process', otel_scope_version: PACKAGE_VERSION };

describe('a real Prometheus scraping the agent on every runtime', () => {
  const apps: RunningApp[] = [];
  let prometheus: PrometheusServer | undefined;

  const server = (): PrometheusServer => {
    if (prometheus === undefined) throw new Error('Prometheus did not start');
    return prometheus;
  };

  before(async () => {
    // First: a machine without Prometheus fails here, with the line that installs it.
    prometheusBinary();
    const ports = await Promise.all(ROWS.map(() => closedPort()));
    await Promise.all(ROWS.map((row, i) => startApp(row, ports[i] as number, apps)));
    prometheus = await startPrometheus(
      apps.map((app) => ({ address: app.address, labels: { runtime: app.row.runtime } })),
    );
    // Every target scraped at least once, successfully.
    await prometheus.waitFor('up{job="plugins"} == 1', (samples) => samples.length === ROWS.length);
  });

  after(async () => {
    await prometheus?.close();
    for (const app of apps) app.child.kill('SIGTERM');
    const results = await Promise.all(apps.map((app) => app.done));
    for (const result of results) {
      assert.equal(result.signal, 'SIGTERM', `${result.command}\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /rpcplugin-telemetry:/, result.stderr);
    }
  });

  test('process_memory_usage: one series per plugin, with its job, instance, runtime and scope labels, and its RSS', async () => {
    const samples = await server().waitFor('process_memory_usage', (found) => found.length === ROWS.length);
    const found = byRuntime(samples);
    for (const app of apps) {
      const series = found.get(app.row.runtime) ?? [];
      assert.equal(series.length, 1, `${app.row.runtime}: ${JSON.stringify(samples)}`);
      const [sample] = series as [Sample];
      assert.deepEqual(sample.metric, {
        __name__: 'process_memory_usage',
        job: 'plugins',
        instance: app.address,
        runtime: app.row.runtime,
        ...SCOPE_LABELS,
      });
      // Scraped at most a second ago from an idle app: within 10 % of what Linux says now.
      const rss = vmRssBytes(app.pid);
      assert.ok(Math.abs(sample.value - rss) <= rss * 0.1, `${app.row.runtime}: ${sample.value} vs VmRSS ${rss}`);
    }
  });

  test('the resource is target_info, and CPU, heap and event-loop series are there as each runtime measures them', async () => {
    const count = (has: (row: Row) => boolean) => ROWS.filter(has).length;
    const info = byRuntime(await server().waitFor('target_info', (found) => found.length === ROWS.length));
    const cpu = byRuntime(
      await server().waitFor('process_cpu_time_total', (found) => found.length === 2 * ROWS.length),
    );
    const heap = byRuntime(await server().query('v8js_memory_heap_used'));
    // A scrape before the event-loop monitor's first sample has no delay yet; a later one has.
    const delays = await server().waitFor(
      'nodejs_eventloop_delay_max',
      (found) => found.length === count((row) => row.eventLoopDelay),
    );
    const delay = byRuntime(delays);
    for (const { row, address } of apps) {
      const [target] = info.get(row.runtime) ?? [];
      assert.equal(target?.metric.process_runtime_name, row.runtimeName, JSON.stringify(target));
      assert.equal(target?.metric.service_name, `kv-plugin-${row.runtime}`);
      assert.equal(target?.metric.instance, address);

      const modes = (cpu.get(row.runtime) ?? []).map((sample) => sample.metric.cpu_mode).sort();
      assert.deepEqual(modes, ['system', 'user'], row.runtime);

      const spaces = (heap.get(row.runtime) ?? []).map((sample) => sample.metric.v8js_heap_space_name);
      if (row.v8Heap) assert.ok(spaces.includes('old_space'), `${row.runtime}: ${spaces}`);
      else assert.deepEqual(spaces, [], `${row.runtime} has no V8 heap`);

      const delays = delay.get(row.runtime) ?? [];
      assert.equal(delays.length, row.eventLoopDelay ? 1 : 0, `${row.runtime}: ${JSON.stringify(delays)}`);
    }
  });

  test('rpc_server_duration: the histogram of the fixture’s Get calls, by rpc.system, service, method and status', async () => {
    // The exporter renders rpc.server.duration (ms) as rpc_server_duration; newer exporters add the unit.
    const name = '{__name__=~"rpc_server_duration(_milliseconds)?_count"}';
    const samples = await server().waitFor(name, (found) => found.length >= 2 * ROWS.length, 5_000);
    for (const { row, address } of apps) {
      const series = samples
        .filter((sample) => sample.metric.runtime === row.runtime)
        .map(({ metric, value }) => ({
          instance: metric.instance,
          rpc_system: metric.rpc_system,
          rpc_service: metric.rpc_service,
          rpc_method: metric.rpc_method,
          rpc_grpc_status_code: metric.rpc_grpc_status_code,
          value,
        }))
        .sort((a, b) => String(a.rpc_grpc_status_code).localeCompare(String(b.rpc_grpc_status_code)));
      const get = { instance: address, rpc_system: 'grpc', rpc_service: 'proto.KV', rpc_method: 'Get' };
      assert.deepEqual(series, [
        { ...get, rpc_grpc_status_code: '0', value: CALLS },
        { ...get, rpc_grpc_status_code: '5', value: 1 },
      ]);
    }
    const buckets = await server().query('{__name__=~"rpc_server_duration(_milliseconds)?_bucket", le="+Inf"}');
    assert.equal(buckets.length, 2 * ROWS.length, JSON.stringify(buckets));
  });
});

describe('finding the Prometheus binary: PROMETHEUS_BIN, else the PATH', () => {
  let dir: string;
  let fake: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-prometheus-bin-'));
    fake = join(dir, 'prometheus');
    writeFileSync(fake, '#!/bin/sh\necho fake\n');
    chmodSync(fake, 0o755);
    writeFileSync(join(dir, 'not-executable'), '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('PROMETHEUS_BIN wins over the PATH and /usr/bin', () => {
    assert.equal(prometheusBinary({ PROMETHEUS_BIN: fake, PATH: '/usr/bin' }), fake);
  });

  test('a PROMETHEUS_BIN that is missing or not executable is an error naming it', () => {
    for (const wrong of [join(dir, 'missing'), join(dir, 'not-executable'), dir]) {
      assert.throws(() => prometheusBinary({ PROMETHEUS_BIN: wrong, PATH: dir }), {
        message: `PROMETHEUS_BIN=${wrong} is not an executable file: set it to a prometheus (2.x or later) binary.`,
      });
    }
  });

  test('without PROMETHEUS_BIN, prometheus on the PATH', () => {
    assert.equal(prometheusBinary({ PATH: `/nonexistent:${dir}` }), fake);
  });

  test('the setup line in the message is the README’s, and valid sh', () => {
    assert.ok(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(PROMETHEUS_SETUP), 'README setup line');

    assert.equal(spawnSync('sh', ['-n', '-c', PROMETHEUS_SETUP]).status, 0);
  });
});
