/** CPU time of the process, user and system, from process.cpuUsage() (real on Node, Bun and Deno). */
import process from 'node:process';
import { type Meter, ValueType } from '@opentelemetry/api';
import { ATTR_CPU_MODE, CPU_MODE_VALUE_SYSTEM, CPU_MODE_VALUE_USER, METRIC_PROCESS_CPU_TIME } from './conventions.ts';

const USER = { [ATTR_CPU_MODE]: CPU_MODE_VALUE_USER };
const SYSTEM = { [ATTR_CPU_MODE]: CPU_MODE_VALUE_SYSTEM };

export function observeCpuTime(meter: Meter): void {
  meter
    .createObservableCounter(METRIC_PROCESS_CPU_TIME, {
      description: 'Total CPU seconds broken down by CPU mode.',
      unit: 's',
      valueType: ValueType.DOUBLE,
    })
    .addCallback((result) => {
      const { user, system } = process.cpuUsage();
      result.observe(user / 1e6, USER);
      result.observe(system / 1e6, SYSTEM);
    });
}
