/**
 * Records that a batch processor holds but has not yet handed to its exporter, so that an exit the
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

  /** Handed to the exporter: no longer ours to send. */
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

/** The exporter, telling `pending` which records it has been given. */
export function settlingExporter<T extends object>(
  exporter: Exporter<T>,
  pending: PendingRecords<T>,
): Exporter<T> & { forceFlush(): Promise<void> } {
  return {
    export(records, done) {
      pending.settle(records);
      exporter.export(records, done);
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: async () => exporter.forceFlush?.(),
  };
}
