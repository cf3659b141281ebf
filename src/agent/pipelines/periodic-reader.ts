/**
 * Periodic metric export (OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT), in place of the SDK's
 * PeriodicExportingMetricReader, which waits on a referenced timer while an export is in flight
 * and so keeps a finished app alive while the collector is down (see batch-queue.ts). Same
 * behaviour otherwise: collect and export every interval, and once more at flush and shutdown.
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

export class PeriodicReader extends MetricReader {
  private interval: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private failing = false;
  private stopping = false;
  /** Whether a failed export during shutdown was reported: one line at exit, however many fail (issue 14). */
  private reportedAtExit = false;

  constructor(
    private readonly exporter: PushMetricExporter,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    metricProducers: MetricProducer[] = [],
  ) {
    super({
      aggregationSelector: exporter.selectAggregation?.bind(exporter),
      aggregationTemporalitySelector: exporter.selectAggregationTemporality?.bind(exporter),
      metricProducers,
    });
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
