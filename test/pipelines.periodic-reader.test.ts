/**
 * Our periodic metric reader (src/agent/pipelines/periodic-reader.ts) in a real MeterProvider,
 * exporting OTLP/JSON through our OTLP/HTTP transport to a real HTTP server on 127.0.0.1: exports
 * every interval and at flush and shutdown, one entry per instrumentation scope (the SDK's metrics
 * and the agent's own histograms together), and what it says when exports fail (exact diagnostics).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiagLogLevel } from '@opentelemetry/api';
import { MeterProvider, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { HistogramRegistry } from '../src/agent/pipelines/histogram-registry.ts';
import { PeriodicReader } from '../src/agent/pipelines/periodic-reader.ts';
import { MAX_TIMER_DELAY_MS } from '../src/agent/runtime/timer-delay.ts';
import { type DiagRecording, recordDiagnostics } from './support/diag-recorder.ts';
import { type CountingShutdowns, jsonMetricExporter, jsonTransport } from './support/json-exporters.ts';
import {
  type Answer,
  holdOpen,
  latch,
  type Script,
  type ScriptedServer,
  startScriptedServer,
} from './support/scripted-http-server.ts';

const OK: Answer = { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' };
const AN_HOUR = 3_600_000;

/** The parts of an OTLP/JSON ExportMetricsServiceRequest the tests read. */
interface JsonRequest {
  resourceMetrics: {
    scopeMetrics: { scope: { name: string; version?: string }; metrics: { name: string }[] }[];
  }[];
}

interface ReaderOptions {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** Makes the reader's MetricProducers (the agent's histograms) once the reader exists. */
  readonly histograms?: HistogramRegistry;
}

interface Rig {
  readonly provider: MeterProvider;
  readonly reader: PeriodicReader;
  readonly exporter: CountingShutdowns;
  readonly server: ScriptedServer;
  readonly diagnostics: DiagRecording;
  /** The final flush begins (the lifecycle aborts this signal before shutdown at exit). */
  beginFinalFlush(): void;
  /** Per request: `scope@version: metric, metric`, one entry per ScopeMetrics, in order. */
  scopes(): string[][];
}

async function withReader(script: Script, options: ReaderOptions, body: (rig: Rig) => Promise<void>): Promise<void> {
  const server = await startScriptedServer(script);
  const finalFlush = new AbortController();
  const transport = jsonTransport(server.url, finalFlush.signal);
  const exporter = jsonMetricExporter(transport, 10_000);
  const producer = options.histograms?.producer();
  const producers: MetricProducer[] = producer === undefined ? [] : [producer];
  const reader = new PeriodicReader(exporter, options.intervalMs ?? AN_HOUR, options.timeoutMs ?? 30_000, producers);
  producer?.bind(reader);
  const provider = new MeterProvider({ readers: [reader] });
  const diagnostics = recordDiagnostics(DiagLogLevel.INFO);
  const release = holdOpen();
  const scopes = () =>
    server.requests.map((request) =>
      (JSON.parse(request.body.toString()) as JsonRequest).resourceMetrics.flatMap((resource) =>
        resource.scopeMetrics.map(
          ({ scope, metrics }) => `${scope.name}@${scope.version ?? ''}: ${metrics.map((m) => m.name).join(', ')}`,
        ),
      ),
    );
  try {
    await body({
      provider,
      reader,
      exporter,
      server,
      diagnostics,
      beginFinalFlush: () => finalFlush.abort(),
      scopes,
    });
  } finally {
    diagnostics.stop();
    finalFlush.abort();
    await server.close();
    // A second shutdown (after a test's own) only says so, to the diagnostics no longer recorded.
    await provider.shutdown();
    transport.shutdown();
    release();
  }
}

describe('periodic metric reader', () => {
  test('every interval, what the meters hold is collected and exported', () =>
    withReader(
      () => OK,
      { intervalMs: 50 },
      async ({ provider, server, scopes, diagnostics }) => {
        const started = performance.now();
        provider.getMeter('app', '1.0').createCounter('app.requests').add(1);
        await server.waitForRequests(2);
        assert.deepEqual(scopes().slice(0, 2), [['app@1.0: app.requests'], ['app@1.0: app.requests']]);
        const first = (server.requests[0]?.receivedAt ?? 0) - started;
        assert.ok(first >= 49, `first export after ${first} ms, not before the 50 ms interval`);
        assert.deepEqual(diagnostics.lines, []);
      },
    ));

  test('nothing is sent when there are no metrics', () =>
    withReader(
      () => OK,
      {},
      async ({ reader, server }) => {
        await reader.forceFlush();
        assert.equal(server.requests.length, 0);
      },
    ));

  test("one entry per scope: the SDK's metrics and the agent's histograms of the same scope go out together", () => {
    const histograms = new HistogramRegistry();
    return withReader(
      () => OK,
      { histograms },
      async ({ provider, reader, scopes }) => {
        provider.getMeter('rpc', '1.0').createCounter('rpc.calls').add(1);
        provider.getMeter('other').createCounter('other.count').add(1);
        const options = { description: 'duration', unit: 'ms' };
        histograms.create({ name: 'rpc', version: '1.0' }, 'rpc.server.duration', options).record(5, {});
        histograms.create({ name: 'rpc', version: '2.0' }, 'rpc.server.call.duration', options).record(5, {});
        await reader.forceFlush();
        assert.deepEqual(scopes()[0]?.sort(), [
          'other@: other.count',
          'rpc@1.0: rpc.calls, rpc.server.duration',
          'rpc@2.0: rpc.server.call.duration',
        ]);
      },
    );
  });

  test('forceFlush exports once more; shutdown exports a last time, then shuts the exporter down', () =>
    withReader(
      () => OK,
      {},
      async ({ provider, reader, exporter, server }) => {
        const counter = provider.getMeter('app').createCounter('app.requests');
        counter.add(1);
        await reader.forceFlush();
        assert.equal(server.requests.length, 1);
        counter.add(1);
        await provider.shutdown();
        assert.equal(server.requests.length, 2);
        assert.equal(exporter.shutdowns, 1);
      },
    ));

  test('failing exports: one warning, then one info line when exporting works again', () =>
    withReader(
      (_request, index) => (index < 3 ? { status: 400, body: 'no' } : OK),
      {},
      async ({ provider, reader, server, diagnostics }) => {
        provider.getMeter('app').createCounter('app.requests').add(1);
        for (let flush = 0; flush < 5; flush++) await reader.forceFlush();
        assert.equal(server.requests.length, 5);
        assert.deepEqual(diagnostics.lines, [
          'warn: metric export failed (Bad Request); later ones will be tried',
          'info: exporting metrics works again',
        ]);
      },
    ));

  test('an export that does not end is given up after the export timeout', () =>
    withReader(
      () => 'hang',
      { timeoutMs: 100 },
      async ({ provider, reader, diagnostics }) => {
        provider.getMeter('app').createCounter('app.requests').add(1);
        await reader.forceFlush();
        assert.deepEqual(diagnostics.lines, [
          'warn: metric export failed (timed out after 100 ms); later ones will be tried',
        ]);
      },
    ));

  test('a failed collection is reported, and what was collected is still exported', () =>
    withReader(
      () => OK,
      {},
      async ({ provider, reader, scopes, diagnostics }) => {
        const meter = provider.getMeter('app');
        meter.createCounter('app.requests').add(1);
        meter.createObservableGauge('app.broken').addCallback(() => {
          throw new Error('no reading');
        });
        await reader.forceFlush();
        assert.deepEqual(diagnostics.lines, ['warn: metric collection failed: no reading']);
        assert.deepEqual(scopes(), [['app@: app.requests']]);
      },
    ));

  test('an interval and timeout beyond what timers take: no early export, no TimeoutOverflowWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      await withReader(
        // Answered a little later: a timer that fired at once would have given the export up first.
        () => new Promise<Answer>((resolve) => setTimeout(() => resolve(OK), 100)),
        { intervalMs: MAX_TIMER_DELAY_MS + 1, timeoutMs: MAX_TIMER_DELAY_MS + 1000 },
        async ({ provider, reader, server, diagnostics }) => {
          provider.getMeter('app').createCounter('app.requests').add(1);
          await new Promise((resolve) => setTimeout(resolve, 100));
          assert.equal(server.requests.length, 0, 'exported before the interval was up');
          await reader.forceFlush();
          assert.equal(server.requests.length, 1);
          assert.deepEqual(diagnostics.lines, []);
          assert.deepEqual(warnings, []);
        },
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('at exit: one line, however many exports fail during shutdown', async () => {
    const held = latch();
    await withReader(
      async (_request, index) => {
        if (index === 0) await held.promise;
        return { status: 503 };
      },
      {},
      async ({ provider, reader, server, diagnostics, beginFinalFlush }) => {
        provider.getMeter('app').createCounter('app.requests').add(1);
        // An export under way when the exit comes; shutdown waits for it, then exports once more.
        const flushing = reader.forceFlush();
        await server.waitForRequests(1);
        beginFinalFlush();
        const shutting = provider.shutdown();
        held.release();
        await Promise.all([flushing, shutting]);
        assert.equal(server.requests.length, 2, 'each tried once');
        assert.deepEqual(diagnostics.lines, [
          'warn: metric export at exit failed (HTTP 503); the last metrics are lost',
        ]);
      },
    );
  });
});
