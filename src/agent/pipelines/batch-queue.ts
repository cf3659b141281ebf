/**
 * Batching of spans and log records for export, in place of the SDK's BatchSpanProcessor and
 * BatchLogRecordProcessor. Same job and same settings (OTEL_BSP_* / OTEL_BLRP_*), two differences
 * that the hard rules of docs/architecture.md need:
 * - no timer or request of ours holds the process open: the SDK's processors keep a referenced
 *   export-timeout timer (OTEL_BSP_EXPORT_TIMEOUT, 30 s) while an export is in flight, so with the
 *   collector down a finished app stayed alive batch after batch (measured here: ~40 s for 100 000
 *   spans) before the bounded shutdown could even start (rule 3);
 * - what is queued or in flight can be taken out for the synchronous send at process.exit()
 *   (lifecycle/exit-export.ts).
 * Memory stays bounded (rule 4): at most maxQueueSize records wait, plus the one batch in flight.
 * What fails during shutdown is said in one line per queue, with the total (reportLostAtExit).
 */
import { context, diag } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core';
import type { BatchConfig } from '../../env/index.ts';
import { timerDelay } from '../runtime/timer-delay.ts';

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
  /** Records whose export failed during shutdown: one line for all of them, when it ends (issue 14). */
  private lostAtExit = { count: 0, reason: '' };
  /** Records refused because the queue was full, said with their number at exit: the warning comes before it is known. */
  private dropped = 0;

  constructor(
    private readonly exporter: RecordExporter<T>,
    private readonly batch: BatchConfig,
    /** For the one warning when the queue overflows: "spans", "log records". */
    private readonly what: string,
  ) {}

  add(record: T): void {
    if (this.stopped) return;
    if (this.queue.length >= this.batch.maxQueueSize) {
      this.dropped += 1;
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
    try {
      await this.forceFlush();
    } finally {
      this.reportLostAtExit();
    }
    await this.exporter.shutdown();
  }

  /**
   * Everything not yet delivered (the batch in flight first), now ours to send; the queue is emptied.
   * What shutdown has already failed to deliver is reported here if shutdown did not get to say it.
   */
  takePending(): T[] {
    this.reportLostAtExit();
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
    }, timerDelay(this.batch.scheduleDelayMs));
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
  private noteResult(result: ExportResult, records: T[]): void {
    const count = records.length;
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) diag.info(`exporting ${this.what} works again`);
      this.failing = false;
      return;
    }
    const reason = result.error?.message ?? 'unknown error';
    if (this.stopped) this.loseAtExit(records, reason);
    else if (this.failing) diag.debug(`export of ${count} ${this.what} failed: ${reason}`);
    else diag.warn(`export of ${count} ${this.what} failed (${reason}); they are dropped, later ones will be tried`);
    this.failing = true;
  }

  private loseAtExit(records: T[], reason: string): void {
    // A batch that takePending() took is the exit export's to deliver, not lost here.
    if (records !== this.inFlight) return;
    this.lostAtExit.count += records.length;
    this.lostAtExit.reason ||= reason;
  }

  /**
   * One line for what failed during shutdown, and one for what the full queue refused. Shutdown says it when it ends, takePending() when the
   * exit comes first; the lifecycle calls it when it stops waiting for a shutdown that hangs.
   */
  reportLostAtExit(): void {
    if (this.dropped > 0) {
      diag.warn(
        `${this.dropped} ${this.what} were dropped because the export queue was full (${this.batch.maxQueueSize}); they are lost`,
      );
      this.dropped = 0;
    }
    const { count, reason } = this.lostAtExit;
    if (count === 0) return;
    this.lostAtExit = { count: 0, reason: '' };
    diag.warn(`export of ${count} ${this.what} failed at exit (${reason}); they are lost`);
  }

  /** Resolves with the batch's outcome noted: the exporter's result, or the export timeout, whichever comes first. */
  private send(records: T[]): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (note: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        note();
        resolve();
      };
      const timer = setTimeout(
        () =>
          settle(() => {
            const reason = `timed out after ${this.batch.exportTimeoutMs} ms`;
            if (this.stopped) this.loseAtExit(records, reason);
            else diag.warn(`export of ${records.length} ${this.what} ${reason}`);
          }),
        timerDelay(this.batch.exportTimeoutMs),
      );
      timer.unref?.();
      // The exporter's own requests must never become telemetry (no feedback loop).
      context.with(suppressTracing(context.active()), () => {
        try {
          this.exporter.export(records, (result) => settle(() => this.noteResult(result, records)));
        } catch (error) {
          settle(() => this.noteResult({ code: ExportResultCode.FAILED, error: error as Error }, records));
        }
      });
    });
  }
}
