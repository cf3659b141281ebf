/**
 * Hard rule 4: with the collector down, memory is bounded by the queue limits. An app ends 100 000
 * spans of 1 KiB each (about 100 MiB if all were kept) while the collector's port is closed; its
 * heap at the end stays within a few MiB of the same app whose spans go nowhere
 * (OTEL_TRACES_EXPORTER=none). OTEL_BSP_MAX_QUEUE_SIZE=2048 bounds what is kept to about 2 MiB.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closedPort } from './support/otlp-receiver.ts';
import { type AgentRun, fixture, isNodeLine, RUNTIME_RUNS, runApp } from './support/runtimes.ts';

const MIB = 1024 * 1024;
// Generous for GC timing, far below the ~100 MiB an unbounded queue would hold.
const ALLOWED_GROWTH = 32 * MIB;

async function heapAtEnd(row: AgentRun, env: Record<string, string>): Promise<number> {
  const run = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('span-flood.mjs'),
    env: {
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      RPCPLUGIN_SHUTDOWN_TIMEOUT: '300',
      // Node exposes V8's gc() with this flag (the fixture calls it when there is one): without a
      // collection first, Node 26's heap at the end holds 20-40 MiB of garbage from the failed exports.
      ...(isNodeLine(row.runtime) ? { NODE_OPTIONS: '--expose-gc' } : {}),
      ...env,
    },
    timeoutMs: 60_000,
    // Deno exposes it with this flag.
    ...(row.runtime === 'deno' ? { denoPermissions: ['-A', '--v8-flags=--expose-gc'] } : {}),
  });
  assert.equal(run.exitCode, 0, `${run.command}\n${run.stderr}`);
  const heap = /^app: heapUsed=(\d+)$/m.exec(run.stderr)?.[1];
  assert.ok(heap, run.stderr);
  return Number(heap);
}

describe('memory with the collector down', () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: 100 000 spans of 1 KiB keep the heap within ${ALLOWED_GROWTH / MIB} MiB of a run that exports nothing`, async () => {
      const endpoint = `http://127.0.0.1:${await closedPort()}`;
      const exporting = await heapAtEnd(row, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
      const bare = await heapAtEnd(row, { OTEL_TRACES_EXPORTER: 'none' });
      const growth = exporting - bare;
      assert.ok(
        growth < ALLOWED_GROWTH,
        `heap ${Math.round(exporting / MIB)} MiB against ${Math.round(bare / MIB)} MiB without exporting`,
      );
    });
  }
});
