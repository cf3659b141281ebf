/**
 * An app whose main module ends with the agent's exports unfinished, as a plugin's does when the
 * collector is down: a request to a collector that never answers, a retry waiting out a 503's
 * Retry-After, a batch queue with a batch in flight and one with records waiting for the schedule
 * delay, and a periodic metric reader. Every delay and timeout is beyond what timers take.
 *
 * Run (bundled by bundle-app.ts) by export.http-transport.test.ts on every runtime: it must exit by
 * itself at once, print nothing (no TimeoutOverflowWarning), and send only those two requests.
 *
 * Environment: HANGING_URL (never answers), RETRY_LATER_URL (answers 503 with a long Retry-After),
 * SEEN_URL (answers once those two have had their requests, so that they were under way).
 */
import http from 'node:http';
import process from 'node:process';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createHttpTransport } from '../../src/agent/exporters/otlp-http-transport.ts';
import { BatchQueue } from '../../src/agent/pipelines/batch-queue.ts';
import { PeriodicReader } from '../../src/agent/pipelines/periodic-reader.ts';
import { MAX_TIMER_DELAY_MS } from '../../src/agent/runtime/timer-delay.ts';
import { jsonMetricExporter, jsonRecordExporter } from './json-exporters.ts';

const BEYOND_TIMERS = MAX_TIMER_DELAY_MS + 1000;

function url(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
}

// Never aborted: the app ends without a final flush.
const finalFlush = new AbortController().signal;
const transportTo = (name: string) =>
  createHttpTransport({
    url: url(name),
    headers: { 'Content-Type': 'application/json' },
    compression: 'none',
    tls: {},
    finalFlush,
  });

// Nobody awaits these, as nobody awaits the agent's exports when an app ends.
void transportTo('HANGING_URL').send(Buffer.from('"never answered"'), BEYOND_TIMERS);
void transportTo('RETRY_LATER_URL').send(Buffer.from('"retried later"'), BEYOND_TIMERS);

const batch = { scheduleDelayMs: BEYOND_TIMERS, exportTimeoutMs: BEYOND_TIMERS, maxQueueSize: 10 };
const inFlight = new BatchQueue<number>(
  jsonRecordExporter(transportTo('HANGING_URL'), BEYOND_TIMERS),
  { ...batch, maxExportBatchSize: 2 },
  'records',
);
inFlight.add(1);
inFlight.add(2); // a full batch: exported at once, and its export timeout starts
const waiting = new BatchQueue<number>(
  jsonRecordExporter(transportTo('HANGING_URL'), BEYOND_TIMERS),
  { ...batch, maxExportBatchSize: 10 },
  'records',
);
waiting.add(3); // waits for the schedule delay

const reader = new PeriodicReader(jsonMetricExporter(transportTo('HANGING_URL'), BEYOND_TIMERS), BEYOND_TIMERS, 30_000);
new MeterProvider({ readers: [reader] }).getMeter('app').createCounter('app.ticks').add(1);

// The one thing the app itself waits for; after it, nothing of the app's is left.
http
  .get(url('SEEN_URL'), { agent: false }, (response) => response.resume())
  .on('error', (error) => {
    process.stderr.write(`app: ${error.message}\n`);
    process.exitCode = 1;
  });
