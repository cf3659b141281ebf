/**
 * The environment carriers' rules (src/agent/host/carriers.ts, docs/host.md): propagator fields as
 * variable names, when the caller's own carriers win, and the child's copy of the environment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callerSetCarriers, environmentName, withCarriers } from '../src/agent/host/carriers.ts';

const NAMES = ['TRACEPARENT', 'TRACESTATE', 'BAGGAGE'];
const OWN = { PATH: '/bin', TRACEPARENT: '00-inherited-01' };

describe('propagator fields become environment variable names (env-carriers.md: upper case, letters, digits and _)', () => {
  const cases = [
    ['traceparent', 'TRACEPARENT'],
    ['tracestate', 'TRACESTATE'],
    ['baggage', 'BAGGAGE'],
    ['b3', 'B3'],
    ['x-b3-traceid', 'X_B3_TRACEID'],
    ['uber-trace-id', 'UBER_TRACE_ID'],
  ] as const;
  for (const [field, name] of cases) test(`${field} → ${name}`, () => assert.equal(environmentName(field), name));
});

describe("the caller's own carriers", () => {
  const cases: readonly [string, Record<string, unknown> | undefined, boolean][] = [
    ['no env: the child inherits, nothing chosen', undefined, false],
    ['an env without carriers', { PATH: '/bin' }, false],
    ["a copy of this process's environment (its inherited TRACEPARENT)", { ...OWN, FOO: '1' }, false],
    ['a TRACEPARENT of its own', { ...OWN, TRACEPARENT: '00-mine-01' }, true],
    ['BAGGAGE alone', { PATH: '/bin', BAGGAGE: 'k=v' }, true],
  ];
  for (const [what, env, chosen] of cases) {
    test(`${what}: ${chosen ? 'the caller wins' : 'the current context goes in'}`, () =>
      assert.equal(callerSetCarriers(env, NAMES, OWN), chosen));
  }
});

test("the child's environment is a copy without the old carriers, plus the new ones", () => {
  const base = Object.freeze({ PATH: '/bin', TRACEPARENT: 'old', TRACESTATE: 'old=1' });
  const env = withCarriers(base, NAMES, { TRACEPARENT: 'new' });
  assert.deepEqual(env, { PATH: '/bin', TRACEPARENT: 'new' });
  assert.notEqual(env, base);
  assert.deepEqual(base, { PATH: '/bin', TRACEPARENT: 'old', TRACESTATE: 'old=1' });
});
