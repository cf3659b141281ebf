/**
 * Records that a batch processor holds or is exporting but that have not arrived yet, so that an exit the
 * event loop never returns from (`process.exit()`) can still send them (exit-export.ts). Bounded like
 * the processor's own queue: when full, the oldest record is forgotten, as the processor drops it.
 */
export class PendingRecords<T extends object> {
  private readonly records = new Set<T>();

  constructor(private readonly limit: number) {}

  add(record: T): void {
    if (this.records.size >= this.limit) {
      const oldest = this.records.values().next();
      if (!oldest.done) this.records.delete(oldest.value);
    }
    this.records.add(record);
  }

  /** Delivered: no longer ours to send. */
  settle(records: readonly T[]): void {
    for (const record of records) this.records.delete(record);
  }

  take(): T[] {
    const records = [...this.records];
    this.records.clear();
    return records;
  }
}

interface Exporter<T> {
  export(records: T[], done: (result: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

// ExportResultCode.SUCCESS in @opentelemetry/core.
const EXPORTED = 0;

/**
 * The exporter, telling `pending` which records have arrived. Records stay pending while their
 * request is in flight: an exit in the middle of it would otherwise lose them (a record may then
 * be sent twice, which is better than not at all).
 */
export function settlingExporter<T extends object>(
  exporter: Exporter<T>,
  pending: PendingRecords<T>,
): Exporter<T> & { forceFlush(): Promise<void> } {
  return {
    export(records, done) {
      exporter.export(records, (result) => {
        if (result.code === EXPORTED) pending.settle(records);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: async () => exporter.forceFlush?.(),
  };
}
