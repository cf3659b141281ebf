/**
 * Batching of spans and log records for export, in place of the SDK's BatchSpanProcessor and
 * BatchLogRecordProcessor. Same job and same settings (OTEL_BSP_* / OTEL_BLRP_*), two differences
 * that the design's hard rules need:
 * - no timer or request of ours holds the process open: the SDK's processors keep a referenced
 *   export-timeout timer (OTEL_BSP_EXPORT_TIMEOUT, 30 s) while an export is in flight, so with the
 *   collector down a finished app stayed alive batch after batch (measured here: ~40 s for 100 000
 *   spans) before the bounded shutdown could even start (hard rule 3);
 * - what is queued or in flight can be taken out for the synchronous send at process.exit()
 *   (exit-export.ts).
 * Memory stays bounded (hard rule 4): at most maxQueueSize records wait, plus the one batch in flight.
 */
import { context, diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type { BatchConfig } from '../../env/index.ts';

export interface RecordExporter<T> {
  export(records: T[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

export class BatchQueue<T> {
  private queue: T[] = [];
  private inFlight: T[] = [];
  private exporting: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private warnedFull = false;
  private failing = false;

  constructor(
    private readonly exporter: RecordExporter<T>,
    private readonly batch: BatchConfig,
    /** For the one warning when the queue overflows: "spans", "log records". */
    private readonly what: string,
  ) {}

  add(record: T): void {
    if (this.stopped) return;
    if (this.queue.length >= this.batch.maxQueueSize) {
      if (!this.warnedFull) {
        this.warnedFull = true;
        diag.warn(
          `export queue full (${this.batch.maxQueueSize} ${this.what}): newer ones are dropped until it drains`,
        );
      }
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= this.batch.maxExportBatchSize) void this.exportNext();
    else this.schedule();
  }

  /** Exports everything queued now; resolves when the queue is empty and nothing is in flight. */
  async forceFlush(): Promise<void> {
    while (this.queue.length > 0 || this.exporting !== undefined) await this.exportNext();
    await this.exporter.forceFlush?.();
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.forceFlush();
    await this.exporter.shutdown();
  }

  /** Everything not yet delivered (the batch in flight first), now ours to send; the queue is emptied. */
  takePending(): T[] {
    const pending = [...this.inFlight, ...this.queue];
    this.queue = [];
    this.inFlight = [];
    return pending;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.exporting !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exportNext();
    }, this.batch.scheduleDelayMs);
    this.timer.unref?.();
  }

  /** One batch at a time, as the SDK's processors do; a call while one is in flight waits for it. */
  private exportNext(): Promise<void> {
    if (this.exporting !== undefined) return this.exporting;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.queue.length === 0) return Promise.resolve();
    const records = this.queue.splice(0, this.batch.maxExportBatchSize);
    this.inFlight = records;
    this.exporting = this.send(records).finally(() => {
      if (this.inFlight === records) this.inFlight = [];
      this.exporting = undefined;
      if (this.queue.length >= this.batch.maxExportBatchSize) void this.exportNext();
      else if (this.queue.length > 0) this.schedule();
    });
    return this.exporting;
  }

  /** One warning when exports start failing, one line when they work again; the rest at debug level. */
  private noteResult(result: ExportResult, count: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) diag.info(`exporting ${this.what} works again`);
      this.failing = false;
      return;
    }
    const reason = result.error?.message ?? 'unknown error';
    if (this.stopped) diag.warn(`export of ${count} ${this.what} failed at exit (${reason}); they are lost`);
    else if (this.failing) diag.debug(`export of ${count} ${this.what} failed: ${reason}`);
    else diag.warn(`export of ${count} ${this.what} failed (${reason}); they are dropped, later ones will be tried`);
    this.failing = true;
  }

  private send(records: T[]): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        diag.warn(`export of ${records.length} ${this.what} timed out after ${this.batch.exportTimeoutMs} ms`);
        resolve();
      }, this.batch.exportTimeoutMs);
      timer.unref?.();
      // The exporter's own requests must never become telemetry (no feedback loop).
      context.with(suppressTracing(context.active()), () => {
        try {
          this.exporter.export(records, (result) => {
            clearTimeout(timer);
            this.noteResult(result, records.length);
            resolve();
          });
        } catch (error) {
          clearTimeout(timer);
          this.noteResult({ code: ExportResultCode.FAILED, error: error as Error }, records.length);
          resolve();
        }
      });
    });
  }
}
