/**
 * The semantic-convention names the process metrics use. They are incubating conventions, which
 * @opentelemetry/semantic-conventions advises to copy rather than import (they may change in a minor
 * release); test/process.conventions.test.ts checks them against the installed package.
 */
export const METRIC_PROCESS_MEMORY_USAGE = 'process.memory.usage';
export const METRIC_PROCESS_CPU_TIME = 'process.cpu.time';
export const METRIC_V8JS_MEMORY_HEAP_USED = 'v8js.memory.heap.used';
export const METRIC_V8JS_MEMORY_HEAP_SPACE_SIZE = 'v8js.memory.heap.space.size';
export const METRIC_NODEJS_EVENTLOOP_DELAY_P50 = 'nodejs.eventloop.delay.p50';
export const METRIC_NODEJS_EVENTLOOP_DELAY_P99 = 'nodejs.eventloop.delay.p99';
export const METRIC_NODEJS_EVENTLOOP_DELAY_MAX = 'nodejs.eventloop.delay.max';

export const ATTR_CPU_MODE = 'cpu.mode';
export const CPU_MODE_VALUE_USER = 'user';
export const CPU_MODE_VALUE_SYSTEM = 'system';
export const ATTR_V8JS_HEAP_SPACE_NAME = 'v8js.heap.space.name';
