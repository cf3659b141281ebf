/**
 * Memory: the resident set size on every runtime, and the V8 heap by space where the heap is V8's.
 * Observed when a reader collects, never on a timer of ours.
 */

import process from 'node:process';
import { getHeapSpaceStatistics } from 'node:v8';
import { type Attributes, type Meter, ValueType } from '@opentelemetry/api';
import {
  ATTR_V8JS_HEAP_SPACE_NAME,
  METRIC_PROCESS_MEMORY_USAGE,
  METRIC_V8JS_MEMORY_HEAP_SPACE_SIZE,
  METRIC_V8JS_MEMORY_HEAP_USED,
} from './conventions.ts';

export function observeResidentMemory(meter: Meter): void {
  // memoryUsage.rss() reads the RSS alone, without walking the heap as memoryUsage() does.
  const rss = typeof process.memoryUsage.rss === 'function' ? process.memoryUsage.rss : () => process.memoryUsage().rss;
  meter
    .createObservableUpDownCounter(METRIC_PROCESS_MEMORY_USAGE, {
      description: 'The amount of physical memory in use (resident set size).',
      unit: 'By',
      valueType: ValueType.INT,
    })
    .addCallback((result) => result.observe(rss()));
}

/**
 * v8js.memory.heap.used and v8js.memory.heap.space.size per heap space: summed over the spaces they
 * are process.memoryUsage()'s heapUsed and heapTotal. A space is reported from the first time it has
 * a size, and from then on (a space that empties again reads 0 rather than vanishing); spaces this
 * V8 never uses (shared_space outside shared isolates…) are left out.
 */
export function observeV8Heap(meter: Meter): void {
  const used = meter.createObservableUpDownCounter(METRIC_V8JS_MEMORY_HEAP_USED, {
    description: 'Heap memory size allocated, by V8 heap space.',
    unit: 'By',
    valueType: ValueType.INT,
  });
  const size = meter.createObservableUpDownCounter(METRIC_V8JS_MEMORY_HEAP_SPACE_SIZE, {
    description: 'Total heap memory size pre-allocated for a V8 heap space.',
    unit: 'By',
    valueType: ValueType.INT,
  });
  const spaces = new Map<string, Attributes>();
  meter.addBatchObservableCallback(
    (result) => {
      for (const space of getHeapSpaceStatistics()) {
        let attributes = spaces.get(space.space_name);
        if (attributes === undefined) {
          if (space.space_size === 0) continue;
          attributes = { [ATTR_V8JS_HEAP_SPACE_NAME]: space.space_name };
          spaces.set(space.space_name, attributes);
        }
        result.observe(used, space.space_used_size, attributes);
        result.observe(size, space.space_size, attributes);
      }
    },
    [used, size],
  );
}
