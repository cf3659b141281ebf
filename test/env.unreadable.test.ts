/**
 * A variable whose value is not valid UTF-8. Node and Bun decode it with U+FFFD for each bad byte, so
 * it is checked like any other value. Deno leaves it out of process.env's keys, so out of the copy the
 * preload reads, and throws InvalidData when it is read by name: the agent asks for each of its
 * variables by name and names the ones Deno hides (docs/runtimes.md). Loading never throws, even on
 * a live process.env that does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeProblem, type EnvSource, loadConfig, unreadableVariables } from '../src/env/index.ts';
import {
  AGENT_RUNS,
  type AgentRun,
  BUILT_PRELOAD,
  fixture,
  loader,
  REPO_ROOT,
  RUNTIME_BINARIES,
  type RunResult,
  runApp,
  runtimeVersions,
  spawnCollect,
} from './support/runtimes.ts';

const NAME = 'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT';
const ACCEPTED_AND_USING = 'Accepted: a whole number from 0 to 2147483647. Using the default 128.';
const HIDDEN_BY_DENO = `${NAME} is set but cannot be read: its value is not valid UTF-8. ${ACCEPTED_AND_USING}`;

/** A live environment like Deno's process.env: reading `name` by name throws an error called `errorName`. */
function throwingEnvironment(values: Record<string, string>, name: string, errorName: string): EnvSource {
  return new Proxy(values, {
    get(target, property) {
      if (property === name) {
        const error = new Error(`environment variable was not valid unicode: "42\\xED\\xA0\\x80\\xFF"`);
        error.name = errorName;
        throw error;
      }
      return target[property as string];
    },
  });
}

describe('loading with a variable the runtime will not give', () => {
  test('a live environment that throws InvalidData: the variable is named, its value is not shown, the default is used', () => {
    const live = throwingEnvironment({ OTEL_LOG_LEVEL: 'debug' }, NAME, 'InvalidData');
    const { config, problems } = loadConfig(live);
    assert.deepEqual(problems.map(describeProblem), [HIDDEN_BY_DENO]);
    assert.equal(problems[0]?.value, undefined);
    assert.equal(config.traces.limits.attributePerEventCountLimit, 128);
    assert.equal(config.logLevel, 'debug');
  });

  test('any other error (NotCapable under --deny-env) comes whether or not it is set: unset, no problem', () => {
    const { config, problems } = loadConfig(throwingEnvironment({}, NAME, 'NotCapable'));
    assert.deepEqual(problems, []);
    assert.equal(config.traces.limits.attributePerEventCountLimit, 128);
  });

  test('a copy lacks it: unreadableVariables() asks the live environment by name, loadConfig names it', () => {
    const live = throwingEnvironment({ OTEL_LOG_LEVEL: 'debug' }, NAME, 'InvalidData');
    const copy = { OTEL_LOG_LEVEL: 'debug' };
    const unreadable = unreadableVariables(live, copy);
    assert.deepEqual(unreadable, { [NAME]: 'its value is not valid UTF-8' });
    assert.deepEqual(loadConfig(copy, { unreadable }).problems.map(describeProblem), [HIDDEN_BY_DENO]);
    assert.deepEqual(unreadableVariables(copy, copy), {});
  });
});

/**
 * The app under the preload with OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT set to the bytes 42 ED A0 80 FF
 * (an encoded surrogate, then a byte UTF-8 never uses). Node's spawn passes only UTF-8 text, so a
 * shell sets the variable; the command line is the one runApp would build.
 */
function runWithBadBytes(row: AgentRun, script: string, env: Record<string, string>): Promise<RunResult> {
  const launch = row.loader.launch([BUILT_PRELOAD]);
  const args = [...(row.runtime === 'deno' ? ['run', '-A'] : []), ...(launch.args ?? []), script];
  const setAndRun = `export ${NAME}="$(printf '42\\355\\240\\200\\377')"; exec "$@"`;
  return spawnCollect('/bin/sh', ['-c', setAndRun, 'sh', RUNTIME_BINARIES[row.runtime], ...args], {
    env: { ...env, ...launch.env },
  });
}

describe('a non-UTF-8 value through the preload, on every runtime', async () => {
  const versions = await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)));
  // Only the configuration check is under test: no instrumentation, so nothing is exported at exit.
  const env = { RPCPLUGIN_INSTRUMENTATIONS: 'none', APP_EXIT_CODE: '5' };
  /** Node and Bun read the value with U+FFFD for each bad byte; Deno hides it, and the agent names it. */
  const expectedLine = (row: AgentRun) =>
    row.runtime === 'deno'
      ? new RegExp(`^rpcplugin-telemetry: ${escapeRegExp(HIDDEN_BY_DENO)}$`)
      : new RegExp(
          `^rpcplugin-telemetry: ${NAME}="42\\uFFFD+" is not a whole number\\. ${escapeRegExp(ACCEPTED_AND_USING)}$`,
        );

  for (const row of AGENT_RUNS) {
    const script = fixture(row.format === 'esm' ? 'app.mjs' : 'app.cjs');
    describe(`${row.runtime} (${versions[row.runtime]}) ${row.loader.name}`, () => {
      test('the variable is named, the app runs with its exit code', async () => {
        const run = await runWithBadBytes(row, script, env);
        assert.equal(run.exitCode, 5, `${run.command}\n${run.stderr}`);
        const [line, ...rest] = run.stderr.split('\n');
        assert.match(line ?? '', expectedLine(row), run.stderr);
        assert.deepEqual(rest, ['app: first line', 'app: last line', '']);
      });

      test('strict mode: exit code 78 before the app runs', async () => {
        const run = await runWithBadBytes(row, script, { ...env, RPCPLUGIN_STRICT: 'true' });
        assert.equal(run.exitCode, 78, `${run.command}\n${run.stderr}`);
        const [line, ...rest] = run.stderr.split('\n');
        assert.match(line ?? '', expectedLine(row), run.stderr);
        assert.deepEqual(rest, [
          'rpcplugin-telemetry: RPCPLUGIN_STRICT=true: exiting with code 78 because of 1 configuration problem.',
          '',
        ]);
      });
    });
  }

  test(`deno (${versions.deno}): a variable kept from the agent with --deny-env counts as unset`, async () => {
    const run = await runApp({
      runtime: 'deno',
      loader: loader('deno', '--preload'),
      script: fixture('app.mjs'),
      denoPermissions: ['-A', '--deny-env=OTEL_LOG_LEVEL'],
      env: { ...env, OTEL_LOG_LEVEL: 'loud' },
    });
    assert.equal(run.exitCode, 5, run.stderr);
    assert.equal(run.stderr, 'app: first line\napp: last line\n');
  });

  test(`deno (${versions.deno}): rpcplugin-telemetry env, which reads the live process.env, names it and does not crash`, async () => {
    const setAndRun = `export ${NAME}="$(printf '42\\355\\240\\200\\377')"; exec "$@"`;
    const run = await spawnCollect(
      '/bin/sh',
      ['-c', setAndRun, 'sh', RUNTIME_BINARIES.deno, 'run', '-A', `${REPO_ROOT}/dist/cli.mjs`, 'env'],
      { env: { COLUMNS: '200' } },
    ); // the problem on one line
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(
      run.stdout.toString('utf8'),
      new RegExp(`^1 problem:\\n {2}- ${escapeRegExp(HIDDEN_BY_DENO)}\\n$`, 'm'),
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
