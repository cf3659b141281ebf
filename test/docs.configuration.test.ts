import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigurationReference } from '../src/env/docs.ts';
import { VARIABLE_NAMES } from '../src/env/index.ts';

// build/test/<suite>.mjs → the repository root.
const docsPath = new URL('../../docs/configuration.md', import.meta.url);

test('docs/configuration.md is generated from the schema and up to date (run `npm run docs`)', () => {
  assert.equal(readFileSync(docsPath, 'utf8'), renderConfigurationReference());
});

test('the configuration reference documents every variable in a table row of its own', () => {
  const text = renderConfigurationReference();
  for (const name of VARIABLE_NAMES) {
    const rows = text.split('\n').filter((line) => line.startsWith(`| \`${name}\` |`));
    assert.equal(rows.length, 1, `${name} should have exactly one row`);
  }
});
