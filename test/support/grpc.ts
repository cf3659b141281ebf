/**
 * Helpers of the gRPC tests (test/grpc.*.test.ts): run one of the KV fixture apps
 * (test/fixtures/grpc/) under the built preload with telemetry going to a test receiver, and read
 * back that run's spans and metrics, told apart from other runs by a service name of their own.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Attributes, AttributeValue, ReceivedDataPoint, ReceivedMetric, ReceivedSpan } from './otlp-receiver.ts';
import {
  type AppFormat,
  fixture,
  type Loader,
  type Preload,
  REPO_ROOT,
  type RunResult,
  type RuntimeName,
  runApp,
} from './runtimes.ts';

export const GRPC_FIXTURES: string = fixture('grpc');

/** The KV app (in GRPC_FIXTURES) in each module format. */
export const KV_APP: Readonly<Record<AppFormat, string>> = { esm: 'kv-app.mjs', cjs: 'kv-app.cjs' };

/** The instrumentation scope of the agent's gRPC telemetry. */
export const GRPC_SCOPE = 'rpcplugin-telemetry/grpc';

/** The keys every KV run captures: `x-call` names the step of each span. */
export const CAPTURE = 'x-call,authorization,x-tenant';

/** Where the spans and metrics of a run come from: the receiver's decoded view, of any protocol. */
export interface TelemetrySource {
  spans(): ReceivedSpan[];
  metrics(): ReceivedMetric[];
}

export interface KvRun {
  readonly result: RunResult;
  /** What the app's calls returned, as it printed them (last stdout line, JSON). */
  readonly results: Record<string, string>;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
}

export interface KvRunOptions {
  readonly runtime: RuntimeName;
  readonly loader: Loader;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** What the loader preloads; the built agent alone by default. */
  readonly preloads?: readonly Preload[];
}

let runs = 0;

/** Runs a KV app to its end; its telemetry is what the source received under its own service name. */
export async function runKv(source: TelemetrySource, options: KvRunOptions): Promise<KvRun> {
  const service = `kv-${options.runtime}-${++runs}`;
  const result = await runApp({
    runtime: options.runtime,
    loader: options.loader,
    script: options.script,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.preloads === undefined ? {} : { preloads: options.preloads }),
    env: { OTEL_SERVICE_NAME: service, ...options.env },
    timeoutMs: 30_000,
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  const ours = ({ resource, scope }: { resource: Attributes; scope: { name: string } }) =>
    resource['service.name'] === service && scope.name === GRPC_SCOPE;
  return {
    result,
    results: lastJsonLine(result),
    // The agent flushes before the process ends: everything has arrived by now.
    spans: source.spans().filter(ours),
    metrics: source.metrics().filter(ours),
  };
}

export function lastJsonLine(result: RunResult): Record<string, string> {
  const lines = result.stdout.toString('utf8').trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as Record<string, string>;
  } catch {
    assert.fail(`no JSON line on stdout of ${result.command}:\n${result.stdout}\n${result.stderr}`);
  }
}

/** What the KV app's calls return, with or without the agent. */
export const KV_RESULTS: Readonly<Record<string, string | RegExp>> = {
  put: 'OK',
  get: 'OK 1',
  missing: 'NOT_FOUND no such key',
  boom: 'UNKNOWN boom',
  deadline: 'DEADLINE_EXCEEDED',
  cancel: 'CANCELLED Cancelled on client',
  chain: 'OK chained',
  watch: 'OK k/1,k/2,k/3',
  watchFail: 'ABORTED watch aborted after 1',
  watchCancel: 'CANCELLED Cancelled on client after 1',
  putMany: 'OK',
  exchange: 'OK x,1',
  unknown: 'UNIMPLEMENTED The server does not implement the method /proto.KV/Delete',
  fromCallback: 'OK',
};

export function assertKvResults(run: { results: Record<string, string>; result: RunResult }): void {
  assert.deepEqual(Object.keys(run.results), Object.keys(KV_RESULTS), run.result.command);
  for (const [step, expected] of Object.entries(KV_RESULTS)) {
    assert.equal(run.results[step], expected, `${step} in ${run.result.command}`);
  }
}

/** The step a span belongs to: its captured `x-call` metadata, whichever conventions named it. */
export function stepOf(span: ReceivedSpan): string | undefined {
  const value = span.attributes['rpc.grpc.request.metadata.x-call'] ?? span.attributes['rpc.request.header.x-call'];
  return Array.isArray(value) ? String(value[0]) : undefined;
}

/** The one span of a step on one side; fails when there is none or more than one (ended twice). */
export function spanOf(spans: readonly ReceivedSpan[], kind: number, step: string): ReceivedSpan {
  const found = spans.filter((span) => span.kind === kind && stepOf(span) === step);
  assert.equal(found.length, 1, `spans of kind ${kind} for step ${step}: ${found.length}`);
  return found[0] as ReceivedSpan;
}

/** The last export of a metric (cumulative: it holds the totals). */
export function lastMetric(metrics: readonly ReceivedMetric[], name: string): ReceivedMetric {
  const found = metrics.filter((metric) => metric.name === name);
  assert.ok(
    found.length > 0,
    `no metric ${name}; got ${[...new Set(metrics.map((metric) => metric.name))].join(', ')}`,
  );
  return found[found.length - 1] as ReceivedMetric;
}

/** A data point's attributes as one sortable text, for comparing sets of points. */
export function attributeKey(attributes: Attributes): string {
  return Object.keys(attributes)
    .sort()
    .map((key) => `${key}=${show(attributes[key])}`)
    .join(' ');
}

function show(value: AttributeValue | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The points of a metric by their attribute key. */
export function pointsByAttributes(metric: ReceivedMetric): Map<string, ReceivedDataPoint> {
  return new Map(metric.dataPoints.map((point) => [attributeKey(point.attributes), point]));
}

/**
 * A copy of the KV fixtures in a directory of its own whose node_modules links @grpc/grpc-js to one
 * installed copy (`grpc-js-1-8` for the oldest supported version), so that the unmodified app
 * resolves that version. Removed by the returned function.
 */
export function appWithGrpcJs(grpcJsPackage: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-grpc-'));
  // dereference: kv.proto is a link to the example plugin's own (examples/kv-plugin/proto).
  cpSync(GRPC_FIXTURES, dir, { recursive: true, dereference: true });
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@grpc'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules', grpcJsPackage), join(modules, '@grpc', 'grpc-js'), 'dir');
  symlinkSync(join(REPO_ROOT, 'node_modules', '@grpc', 'proto-loader'), join(modules, '@grpc', 'proto-loader'), 'dir');
  // Deno resolves bare specifiers through node_modules only for packages the package.json lists.
  const manifest = { name: 'kv-app', private: true, dependencies: { '@grpc/grpc-js': '*', '@grpc/proto-loader': '*' } };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
