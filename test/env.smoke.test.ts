import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/env/index.ts';

test('an empty environment gives the spec defaults and no problems', () => {
  const { config, problems } = loadConfig({});
  assert.deepEqual(problems, []);
  assert.equal(config.traces.otlp.endpoint, 'http://localhost:4318/v1/traces');
  assert.deepEqual(config.propagators, ['tracecontext', 'baggage']);
});
