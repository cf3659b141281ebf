/**
 * The runtime facts that decide which process metrics each runtime gets (src/agent/runtime/runtime.ts:
 * processMeasurements) and what docs/process-metrics.md says of them, measured on the runtimes
 * themselves, without the agent. If a runtime changes (Deno's event-loop monitor starts seeing a
 * blocked loop, Bun reports real heap spaces), this fails, and runtime.ts and the docs have to follow.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixture, NODE_LINES, type RuntimeName, runApp } from './support/runtimes.ts';

interface Facts {
  eventLoopDelayMaxMs: number;
  eventLoopDelayP50Ms: number;
  /** The largest delay seen by a histogram enabled around each of five blocks alone. */
  blockMaxMs: number[];
  eventLoopUtilization: number;
  heapSpacesInUse: string[];
  heapTotalIsHeapUsed: boolean;
}

async function factsOf(runtime: RuntimeName): Promise<Facts> {
  const run = await runApp({ runtime, script: fixture('process/runtime-facts.mjs'), preloads: [] });
  assert.equal(run.exitCode, 0, run.stderr);
  return JSON.parse(run.stdout.toString('utf8')) as Facts;
}

const BLOCK_MS = 30;
const RESOLUTION_MS = 10;
const V8_SPACES = ['code_space', 'new_space', 'old_space'];

describe('runtime facts behind the process metrics', { concurrency: true }, () => {
  for (const runtime of NODE_LINES) {
    test(`${runtime}: delays include the sampling interval and see the block; utilization and V8 heap spaces are real`, async () => {
      const facts = await factsOf(runtime);
      assert.ok(facts.eventLoopDelayMaxMs >= BLOCK_MS, JSON.stringify(facts));
      assert.ok(facts.eventLoopDelayP50Ms >= RESOLUTION_MS * 0.95, JSON.stringify(facts));
      assert.ok(facts.eventLoopUtilization > 0, JSON.stringify(facts));
      assert.ok(
        V8_SPACES.every((space) => facts.heapSpacesInUse.includes(space)),
        JSON.stringify(facts),
      );
      assert.equal(facts.heapTotalIsHeapUsed, false);
    });
  }

  test('bun: delays are past the sampling interval and see the block; no utilization; the "V8 heap" is all old_space', async () => {
    const facts = await factsOf('bun');
    assert.ok(facts.eventLoopDelayMaxMs >= BLOCK_MS - RESOLUTION_MS, JSON.stringify(facts));
    assert.ok(facts.eventLoopDelayP50Ms < RESOLUTION_MS, JSON.stringify(facts));
    assert.equal(facts.eventLoopUtilization, 0);
    assert.deepEqual(facts.heapSpacesInUse, ['old_space']);
    assert.equal(facts.heapTotalIsHeapUsed, true);
  });

  test('deno: the event-loop monitor does not see blocks reliably; no utilization; V8 heap spaces are real', async () => {
    const facts = await factsOf('deno');
    // Usually microseconds for every block; on a loaded machine it has caught one at times (26 and
    // 31 ms of 30), never all five: not a measurement to publish. If Deno fixes its monitor, every
    // block is seen and this fails.
    const seen = facts.blockMaxMs.filter((maxMs) => maxMs >= BLOCK_MS - RESOLUTION_MS);
    assert.ok(seen.length < facts.blockMaxMs.length, JSON.stringify(facts));
    assert.ok(facts.eventLoopDelayP50Ms < 1, JSON.stringify(facts));
    assert.equal(facts.eventLoopUtilization, 0);
    assert.ok(
      V8_SPACES.every((space) => facts.heapSpacesInUse.includes(space)),
      JSON.stringify(facts),
    );
    assert.equal(facts.heapTotalIsHeapUsed, false);
  });
});
