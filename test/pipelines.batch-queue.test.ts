/**
 * Our batch queue for spans and log records (src/agent/pipelines/batch-queue.ts), exporting through
 * our OTLP/HTTP transport to a real HTTP server on 127.0.0.1: batches by size and by schedule delay,
 * the queue's bound, flush, shutdown, what the exit export takes, the export timeout, and what it
 * says (exact diagnostics) when exports fail, work again, or fail at exit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchQueue } from '../src/agent/pipelines/batch-queue.ts';
import { MAX_TIMER_DELAY_MS } from '../src/agent/runtime/timer-delay.ts';
import type { BatchConfig } from '../src/env/index.ts';
import { type DiagRecording, recordDiagnostics } from './support/diag-recorder.ts';
import { type CountingShutdowns, jsonRecordExporter, jsonTransport } from './support/json-exporters.ts';
import {
  type Answer,
  holdOpen,
  latch,
  type Script,
  type ScriptedServer,
  startScriptedServer,
} from './support/scripted-http-server.ts';

const OK: Answer = { status: 200 };
const AN_HOUR = 3_600_000;
/** Batches wait an hour unless full, flushed or shut down: a test sees only what it asked for. */
const BATCH: BatchConfig = {
  scheduleDelayMs: AN_HOUR,
  exportTimeoutMs: 30_000,
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
};

interface Rig {
  readonly queue: BatchQueue<number>;
  readonly exporter: CountingShutdowns;
  readonly server: ScriptedServer;
  readonly diagnostics: DiagRecording;
  /** The final flush begins (the lifecycle aborts this signal before shutdown at exit). */
  beginFinalFlush(): void;
  /** The batches as the server received them. */
  batches(): number[][];
}

async function withQueue(
  script: Script,
  batch: Partial<BatchConfig>,
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const server = await startScriptedServer(script);
  const finalFlush = new AbortController();
  const transport = jsonTransport(server.url, finalFlush.signal);
  const exporter = jsonRecordExporter<number>(transport, 10_000);
  const queue = new BatchQueue<number>(exporter, { ...BATCH, ...batch }, 'records');
  const diagnostics = recordDiagnostics();
  const release = holdOpen();
  try {
    await body({
      queue,
      exporter,
      server,
      diagnostics,
      beginFinalFlush: () => finalFlush.abort(),
      batches: () => server.requests.map((request) => JSON.parse(request.body.toString()) as number[]),
    });
  } finally {
    // What is still in flight ends now (connections closed, no retry), before the next test listens.
    finalFlush.abort();
    await server.close();
    await queue.forceFlush();
    diagnostics.stop();
    transport.shutdown();
    release();
  }
}

function addAll(queue: BatchQueue<number>, records: Iterable<number>): void {
  for (const record of records) queue.add(record);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);

describe('batch queue', () => {
  test('a full batch (maxExportBatchSize) goes out at once; the rest waits for the schedule delay or a flush', () =>
    withQueue(
      () => OK,
      { maxExportBatchSize: 4 },
      async ({ queue, server, batches, diagnostics }) => {
        addAll(queue, range(0, 10));
        await server.waitForRequests(2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(batches(), [range(0, 4), range(4, 8)], 'two full batches, and nothing else yet');
        await queue.forceFlush();
        assert.deepEqual(batches(), [range(0, 4), range(4, 8), [8, 9]]);
        assert.deepEqual(diagnostics.lines, []);
      },
    ));

  test('a batch that is not full goes out when the schedule delay is up, unasked', () =>
    withQueue(
      () => OK,
      { scheduleDelayMs: 50 },
      async ({ queue, server, batches }) => {
        const added = performance.now();
        addAll(queue, [0, 1, 2]);
        await server.waitForRequests(1);
        assert.deepEqual(batches(), [[0, 1, 2]]);
        const waited = (server.requests[0]?.receivedAt ?? 0) - added;
        assert.ok(waited >= 49, `sent after ${waited} ms, not before the 50 ms delay`);
      },
    ));

  test('maxQueueSize: newer records are dropped, with one warning however often it overflows', () =>
    withQueue(
      () => OK,
      { maxQueueSize: 3 },
      async ({ queue, batches, diagnostics }) => {
        addAll(queue, range(0, 6));
        assert.deepEqual(diagnostics.lines, [
          'warn: export queue full (3 records): newer ones are dropped until it drains',
        ]);
        await queue.forceFlush();
        addAll(queue, range(6, 10));
        await queue.forceFlush();
        assert.deepEqual(batches(), [
          [0, 1, 2],
          [6, 7, 8],
        ]);
        assert.equal(diagnostics.lines.length, 1);
      },
    ));

  test('maxQueueSize: how many were dropped is said once, at exit, whether shutdown or the exit export ends it', async () => {
    for (const end of ['shutdown', 'takePending'] as const) {
      await withQueue(
        () => OK,
        { maxQueueSize: 3 },
        async ({ queue, diagnostics }) => {
          addAll(queue, range(0, 6));
          await queue.forceFlush();
          addAll(queue, range(6, 10));
          if (end === 'shutdown') await queue.shutdown();
          else queue.takePending();
          queue.reportLostAtExit();
          assert.deepEqual(diagnostics.lines, [
            'warn: export queue full (3 records): newer ones are dropped until it drains',
            'warn: 4 records were dropped because the export queue was full (3); they are lost',
          ]);
        },
      );
    }
  });

  test('forceFlush sends everything queued, batch by batch, and waits for the batch in flight', async () => {
    const held = latch();
    await withQueue(
      async (_request, index) => {
        if (index === 0) await held.promise;
        return OK;
      },
      { maxExportBatchSize: 2 },
      async ({ queue, server, batches }) => {
        addAll(queue, range(0, 5));
        let flushed = false;
        const flushing = queue.forceFlush().then(() => {
          flushed = true;
        });
        await server.waitForRequests(1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(flushed, false, 'flushed while the first batch had no answer');
        held.release();
        await flushing;
        assert.deepEqual(batches(), [[0, 1], [2, 3], [4]]);
      },
    );
  });

  test('shutdown flushes, shuts the exporter down once, and ignores records that come later', () =>
    withQueue(
      () => OK,
      {},
      async ({ queue, exporter, batches }) => {
        addAll(queue, [0, 1, 2]);
        await queue.shutdown();
        assert.deepEqual(batches(), [[0, 1, 2]]);
        assert.equal(exporter.shutdowns, 1);
        queue.add(3);
        assert.deepEqual(queue.takePending(), []);
        await queue.forceFlush();
        assert.deepEqual(batches(), [[0, 1, 2]]);
      },
    ));

  test('takePending: the batch in flight first, then the queued records; the queue is empty afterwards', () =>
    withQueue(
      () => 'hang',
      { maxExportBatchSize: 2 },
      async ({ queue, server }) => {
        addAll(queue, range(0, 5));
        await server.waitForRequests(1);
        assert.deepEqual(queue.takePending(), [0, 1, 2, 3, 4]);
        assert.deepEqual(queue.takePending(), []);
      },
    ));

  test('export timeout: a batch whose export does not end is given up after exportTimeoutMs; the next one goes', () =>
    withQueue(
      (_request, index) => (index === 0 ? 'hang' : OK),
      { maxExportBatchSize: 1, exportTimeoutMs: 100 },
      async ({ queue, batches, diagnostics }) => {
        addAll(queue, [0, 1]);
        await queue.forceFlush();
        assert.deepEqual(batches(), [[0], [1]]);
        assert.deepEqual(diagnostics.lines, ['warn: export of 1 records timed out after 100 ms']);
      },
    ));

  test('failing exports: one warning, the rest at debug level, one info line when exporting works again', () =>
    withQueue(
      (_request, index) => (index < 3 || index === 5 ? { status: 400, body: 'no' } : OK),
      { maxExportBatchSize: 1 },
      async ({ queue, batches, diagnostics }) => {
        for (const record of range(0, 6)) {
          queue.add(record);
          await queue.forceFlush();
        }
        assert.equal(batches().length, 6);
        assert.deepEqual(diagnostics.lines, [
          'warn: export of 1 records failed (Bad Request); they are dropped, later ones will be tried',
          'debug: export of 1 records failed: Bad Request',
          'debug: export of 1 records failed: Bad Request',
          'info: exporting records works again',
          'warn: export of 1 records failed (Bad Request); they are dropped, later ones will be tried',
        ]);
      },
    ));

  test('a timeout beyond what timers take is waited, not cut to 1 ms (no TimeoutOverflowWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      await withQueue(
        // Answered a little later: a timer that fired at once would have given the export up first.
        () => new Promise<Answer>((resolve) => setTimeout(() => resolve(OK), 100)),
        { maxExportBatchSize: 2, exportTimeoutMs: MAX_TIMER_DELAY_MS + 1000, scheduleDelayMs: MAX_TIMER_DELAY_MS + 1 },
        async ({ queue, batches, diagnostics }) => {
          addAll(queue, [0, 1]);
          await queue.forceFlush();
          // One record waits for the schedule delay, which must not end at once either.
          queue.add(2);
          await new Promise((resolve) => setTimeout(resolve, 100));
          assert.deepEqual(batches(), [[0, 1]]);
          assert.deepEqual(diagnostics.lines, []);
          assert.deepEqual(warnings, []);
        },
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  describe('at exit', () => {
    test('one line for all the batches that fail during shutdown, with their total', async () => {
      const held = latch();
      await withQueue(
        async (_request, index) => {
          if (index === 0) await held.promise;
          return { status: 503 };
        },
        { maxExportBatchSize: 2 },
        async ({ queue, server, batches, diagnostics, beginFinalFlush }) => {
          addAll(queue, range(0, 7));
          await server.waitForRequests(1);
          beginFinalFlush();
          const shutting = queue.shutdown();
          held.release();
          await shutting;
          assert.deepEqual(batches(), [[0, 1], [2, 3], [4, 5], [6]], 'each batch tried once');
          assert.deepEqual(diagnostics.lines, ['warn: export of 7 records failed at exit (HTTP 503); they are lost']);
        },
      );
    });

    test('takePending says what shutdown has lost so far; a batch it took is not counted again', async () => {
      const held = latch();
      await withQueue(
        async (_request, index) => {
          if (index > 0) return 'hang';
          await held.promise;
          return { status: 503 };
        },
        { maxExportBatchSize: 2 },
        async ({ queue, server, diagnostics, beginFinalFlush }) => {
          addAll(queue, range(0, 6));
          await server.waitForRequests(1);
          beginFinalFlush();
          const shutting = queue.shutdown();
          held.release();
          // [0, 1] failed; [2, 3] hangs: the exit comes before shutdown ends.
          await server.waitForRequests(2);
          assert.deepEqual(queue.takePending(), [2, 3, 4, 5]);
          const lost = 'warn: export of 2 records failed at exit (HTTP 503); they are lost';
          assert.deepEqual(diagnostics.lines, [lost]);
          // The hanging export fails too, once the collector goes away; shutdown then ends, silently.
          await server.close();
          await shutting;
          assert.deepEqual(diagnostics.lines, [lost]);
        },
      );
    });
  });
});
