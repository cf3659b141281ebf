/**
 * Periodic metric export (OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT), in place of the SDK's
 * PeriodicExportingMetricReader, which waits on a referenced timer while an export is in flight
 * and so keeps a finished app alive while the collector is down (see batch-queue.ts). Same
 * behaviour otherwise: collect and export every interval, and once more at flush and shutdown.
 * At process.exit(), takePending() gives what is not delivered yet, collected synchronously (collect-now.ts).
 */
import { context, diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core';
import {
  type MetricProducer,
  MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { timerDelay } from '../runtime/timer-delay.ts';
import { warn } from '../sdk/diagnostics.ts';
import { CollectNowUnavailable, collectNow } from './collect-now.ts';

/** A producer whose collection can also be made synchronously (the agent's histograms, histogram-registry.ts). */
interface SynchronousProducer extends MetricProducer {
  collectNow(): ScopeMetrics[];
}

export class PeriodicReader extends MetricReader {
  private interval: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private failing = false;
  private stopping = false;
  /** Whether a failed export during shutdown was reported: one line at exit, however many fail (issue 14). */
  private reportedAtExit = false;
  /** The SDK's producer (its MetricCollector), for the synchronous collection at exit. */
  private sdkProducer: MetricProducer | undefined;

  constructor(
    private readonly exporter: PushMetricExporter,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly metricProducers: MetricProducer[] = [],
  ) {
    super({
      aggregationSelector: exporter.selectAggregation?.bind(exporter),
      aggregationTemporalitySelector: exporter.selectAggregationTemporality?.bind(exporter),
      metricProducers,
    });
  }

  override setMetricProducer(metricProducer: MetricProducer): void {
    this.sdkProducer = metricProducer;
    super.setMetricProducer(metricProducer);
  }

  /**
   * What was recorded since the last collection, collected now, synchronously, for the send at
   * process.exit(), when no promise settles any more; undefined when there is nothing (or the SDK's
   * internals are not what collect-now.ts reads: then one line says so).
   * An export already under way is not sent again: a delta point sent twice is counted twice, with
   * nothing in it to tell (spans carry their ids; test/agent.exit-delivery.test.ts caught this on
   * Deno). Over OTLP/HTTP its request was handed to the socket in the turn that collected it, before
   * any handler could call process.exit(); over gRPC, or on a socket still connecting, it may not
   * have left yet, and then those points are lost (an export and an exit within a few milliseconds).
   */
  takePending(): ResourceMetrics | undefined {
    if (this.sdkProducer === undefined) return undefined;
    try {
      const synchronous = this.metricProducers.filter(
        (producer): producer is SynchronousProducer =>
          typeof (producer as SynchronousProducer).collectNow === 'function',
      );
      const now = collectNow(
        this.sdkProducer,
        synchronous.map((producer) => () => producer.collectNow()),
      );
      const scopeMetrics = mergeScopes(now.scopeMetrics);
      return scopeMetrics.length > 0 ? { resource: now.resource, scopeMetrics } : undefined;
    } catch (error) {
      // Whatever went wrong, the app's exit goes on as it would have.
      const reason = error instanceof CollectNowUnavailable ? error.message : `collection failed: ${error}`;
      warn(`metrics recorded since the last export cannot be collected at exit (${reason}); they are lost.`);
      return undefined;
    }
  }

  protected override onInitialized(): void {
    this.interval = setInterval(() => void this.exportOnce(), timerDelay(this.intervalMs));
    this.interval.unref?.();
  }

  protected override async onForceFlush(): Promise<void> {
    await this.exportOnce();
    await this.exporter.forceFlush();
  }

  protected override async onShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.interval);
    await this.onForceFlush();
    await this.exporter.shutdown();
  }

  /** One collection and export at a time; a call while one runs waits for it and starts another. */
  private async exportOnce(): Promise<void> {
    if (this.running !== undefined) await this.running;
    this.running = this.collectAndExport().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async collectAndExport(): Promise<void> {
    const { resourceMetrics, errors } = await this.collect({ timeoutMillis: timerDelay(this.timeoutMs) });
    for (const error of errors) diag.warn(`metric collection failed: ${(error as Error).message ?? String(error)}`);
    if (resourceMetrics.scopeMetrics.length === 0) return;
    this.noteResult(await this.send({ ...resourceMetrics, scopeMetrics: mergeScopes(resourceMetrics.scopeMetrics) }));
  }

  private send(metrics: ResourceMetrics): Promise<ExportResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => resolve({ code: ExportResultCode.FAILED, error: new Error(`timed out after ${this.timeoutMs} ms`) }),
        timerDelay(this.timeoutMs),
      );
      timer.unref?.();
      context.with(suppressTracing(context.active()), () => {
        try {
          this.exporter.export(metrics, (result) => {
            clearTimeout(timer);
            resolve(result);
          });
        } catch (error) {
          clearTimeout(timer);
          resolve({ code: ExportResultCode.FAILED, error: error as Error });
        }
      });
    });
  }

  /** One warning when exports start failing, one line when they work again. */
  private noteResult(result: ExportResult): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) diag.info('exporting metrics works again');
      this.failing = false;
      return;
    }
    const reason = result.error?.message ?? 'unknown error';
    if (this.stopping) {
      if (!this.reportedAtExit) diag.warn(`metric export at exit failed (${reason}); the last metrics are lost`);
      this.reportedAtExit = true;
    } else if (!this.failing) diag.warn(`metric export failed (${reason}); later ones will be tried`);
    this.failing = true;
  }
}

/**
 * One entry per instrumentation scope: the SDK's collection and the agent's own histograms
 * (pipelines/histogram-registry.ts) can both have metrics of the same scope, which would otherwise go out as two.
 */
function mergeScopes(scopeMetrics: ScopeMetrics[]): ScopeMetrics[] {
  const byScope = new Map<string, ScopeMetrics>();
  for (const entry of scopeMetrics) {
    const { name, version, schemaUrl } = entry.scope;
    const key = `${name}\0${version ?? ''}\0${schemaUrl ?? ''}`;
    const found = byScope.get(key);
    if (found === undefined) byScope.set(key, { scope: entry.scope, metrics: [...entry.metrics] });
    else found.metrics.push(...entry.metrics);
  }
  return [...byScope.values()];
}
