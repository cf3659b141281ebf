/**
 * Process metrics: memory, CPU time and event-loop delay, as observable instruments read when a
 * metric reader collects (no timer of ours in the app). Each runtime gets only what it measures for
 * real (src/agent/runtime/runtime.ts, docs/process-metrics.md).
 */
import { isMainThread } from 'node:worker_threads';
import { metrics } from '@opentelemetry/api';
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { processMeasurements } from '../runtime/runtime.ts';
import { observeCpuTime } from './cpu.ts';
import { observeEventLoopDelay } from './event-loop.ts';
import { observeResidentMemory, observeV8Heap } from './memory.ts';

/** The instrumentation scope of the process metrics. */
const PROCESS_SCOPE = 'rpcplugin-telemetry/process';

export function startProcessMetrics(config: Config): void {
  // Nobody would read them. And a worker's agent would report the process a second time.
  if (config.metrics.exporters.length === 0 || !isMainThread) return;
  const meter = metrics.getMeter(PROCESS_SCOPE, VERSION);
  const can = processMeasurements();
  observeResidentMemory(meter);
  observeCpuTime(meter);
  if (can.v8HeapSpaces) observeV8Heap(meter);
  if (can.eventLoopDelay) observeEventLoopDelay(meter);
}
