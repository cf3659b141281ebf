/**
 * Runs the downstream plugin (test/fixtures/http/downstream.cjs) under the preload against an
 * HttpTarget, and collects what the agent sent of that run: its spans and metrics by scope.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lastJsonLine } from './grpc.ts';
import type { HttpTarget } from './http-target.ts';
import type { OtlpReceiver, ReceivedMetric, ReceivedSpan } from './otlp-receiver.ts';
import { type AgentRun, fixture, type Preload, type RunResult, runApp } from './runtimes.ts';

export const HTTP_SCOPE = 'rpcplugin-telemetry/http';
export const DOWNSTREAM_APP = { esm: 'downstream-app.mjs', cjs: 'downstream-app.cjs' } as const;

export interface DownstreamRun {
  /** The run's service name, also sent as its `x-run` header. */
  readonly id: string;
  readonly result: RunResult;
  /** What each step got, as the app printed it. */
  readonly results: Record<string, string>;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
}

let runs = 0;

export async function runDownstream(
  row: AgentRun,
  receiver: OtlpReceiver,
  target: HttpTarget,
  refusedPort: number,
  env: Record<string, string> = {},
  preloads?: readonly Preload[],
): Promise<DownstreamRun> {
  const service = `downstream-${row.runtime}-${++runs}`;
  const result = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: join(fixture('http'), DOWNSTREAM_APP[row.format]),
    ...(preloads === undefined ? {} : { preloads }),
    env: {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      RUN_ID: service,
      HTTP_TARGET: target.url,
      REFUSED_TARGET: `http://127.0.0.1:${refusedPort}`,
      ...env,
    },
    timeoutMs: 30_000,
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  const ours = ({ resource }: { resource: Record<string, unknown> }) => resource['service.name'] === service;
  return {
    id: service,
    result,
    results: lastJsonLine(result),
    // The agent flushes before the process ends: everything has arrived by now.
    spans: receiver.spans().filter(ours),
    metrics: receiver.metrics().filter(ours),
  };
}

/** The step a span belongs to: its captured `x-step` request header. */
export function stepOf(span: ReceivedSpan): string | undefined {
  const value = span.attributes['http.request.header.x-step'];
  return Array.isArray(value) ? String(value[0]) : undefined;
}
