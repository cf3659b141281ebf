/**
 * The process metrics' names are incubating semantic conventions, copied into
 * src/agent/process/conventions.ts as @opentelemetry/semantic-conventions advises: they must still be
 * what the installed package says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import * as ours from '../src/agent/process/conventions.ts';

test('every name in conventions.ts is the semantic conventions’ constant of the same name', () => {
  const upstream = semconv as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(ours)) {
    assert.equal(value, upstream[name], name);
  }
});
