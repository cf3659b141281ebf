/**
 * The problem report stays small whatever the environment holds: a long value is quoted once and
 * cut (saying how long it was), a list's bad entries make one message (a count and the first few),
 * and the whole report has a size cap (saying what was left out). Before, each bad entry quoted the
 * whole value: a 100 KB list made Node run out of heap before the application started.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeProblem,
  type EnvSource,
  formatProblemReport,
  loadConfig,
  MESSAGE_PREFIX,
  VARIABLE_NAMES,
} from '../src/env/index.ts';
import { AGENT_RUNS, fixture, runApp, runtimeVersions } from './support/runtimes.ts';

/** The lists of the issue: 100 KB and 120 KB, under Linux's 128 KiB limit for one environment string. */
const LONG_LISTS = {
  OTEL_TRACES_EXPORTER: `otlp,${'x,'.repeat(50_000)}`,
  OTEL_RESOURCE_ATTRIBUTES: `a=b,${'k=%zz,'.repeat(20_000)}`,
} as const;

const messages = (env: EnvSource) => loadConfig(env).problems.map(describeProblem);

describe('a long list value gives one bounded message', () => {
  test('unknown entries: the value quoted once and cut at 200 characters, the distinct entry named once', () => {
    assert.deepEqual(messages({ OTEL_TRACES_EXPORTER: LONG_LISTS.OTEL_TRACES_EXPORTER }), [
      `OTEL_TRACES_EXPORTER="otlp,${'x,'.repeat(97)}x"… (100005 characters) has an unknown entry "x", which is ignored. Accepted: a comma-separated list of otlp, console, none (any case). Using otlp.`,
    ]);
  });

  test('bad key=value entries: counted, the first three named by position, none quoted', () => {
    const shown = `a=b,${'[redacted],'.repeat(20_000)}`;
    assert.deepEqual(messages({ OTEL_RESOURCE_ATTRIBUTES: LONG_LISTS.OTEL_RESOURCE_ATTRIBUTES }), [
      `OTEL_RESOURCE_ATTRIBUTES="${shown.slice(0, 200)}"… (${shown.length} characters) has 20000 bad entries, which are ignored: entry 2 with a value that is not valid percent-encoding, entry 3 with a value that is not valid percent-encoding, entry 4 with a value that is not valid percent-encoding and 19997 more. Accepted: comma-separated key=value pairs, values percent-encoded. Using a=b.`,
    ]);
  });

  test('many distinct unknown entries: the count and the first three', () => {
    const entries = Array.from({ length: 50_000 }, (_, index) => `x${index}`);
    assert.deepEqual(
      loadConfig({ OTEL_PROPAGATORS: `b3,${entries.join(',')}` }).problems.map((problem) => problem.issue),
      ['has 50000 unknown entries, "x0", "x1", "x2" and 49997 more, which are ignored'],
    );
  });

  test('two or three unknown entries are all named', () => {
    assert.deepEqual(
      loadConfig({ OTEL_PROPAGATORS: 'b3,xray,w3c' }).problems.map((problem) => problem.issue),
      ['has 2 unknown entries, "xray" and "w3c", which are ignored'],
    );
    assert.deepEqual(
      loadConfig({ RPCPLUGIN_GRPC_CAPTURE_METADATA: 'x-id,a b,c d,e f,a b' }).problems.map((problem) => problem.issue),
      ['has 3 entries that are not gRPC metadata keys, "a b", "c d" and "e f", which are ignored'],
    );
  });

  test('a long entry is cut at 40 characters too', () => {
    const entry = 'y'.repeat(5000);
    assert.deepEqual(
      loadConfig({ OTEL_PROPAGATORS: `b3,${entry}` }).problems.map((problem) => problem.issue),
      [`has an unknown entry "${'y'.repeat(40)}"… (5000 characters), which is ignored`],
    );
  });

  test('a long "Using" is cut like a value', () => {
    const pairs = Array.from({ length: 1000 }, (_, index) => `k${index}=v`).join(',');
    const [message] = messages({ OTEL_RESOURCE_ATTRIBUTES: `${pairs},broken` });
    assert.ok(message?.endsWith(`. Using ${pairs.slice(0, 200)}… (${pairs.length} characters).`), message);
  });

  test('the report does not grow with the value', () => {
    const sizes = [1_000, 10_000, 50_000].map(
      (count) =>
        formatProblemReport(
          loadConfig({
            OTEL_TRACES_EXPORTER: `otlp,${'x,'.repeat(count)}`,
            OTEL_RESOURCE_ATTRIBUTES: `a=b,${'k=%zz,'.repeat(count)}`,
          }).problems,
          false,
        ).length,
    );
    assert.ok(
      sizes.every((size) => size < 2048),
      `report sizes ${sizes}`,
    );
  });
});

describe('the report has a size cap', () => {
  // Every variable at once with a long bad value: far more than the cap.
  const env = Object.fromEntries(VARIABLE_NAMES.map((name) => [name, `bad-${name}-${'z'.repeat(300)}`]));
  const { problems } = loadConfig(env);

  test('problems past 16 KiB are counted, not shown; strict mode still counts them all', () => {
    assert.ok(problems.length > 60, `${problems.length} problems`);
    const report = formatProblemReport(problems, true);
    const lines = report.trimEnd().split('\n');
    assert.ok(
      lines.every((line) => line.startsWith(`${MESSAGE_PREFIX} `)),
      report,
    );
    const shown = lines.length - 2;
    assert.ok(shown > 10 && shown < problems.length, `${shown} of ${problems.length} shown`);
    assert.ok(lines.slice(0, shown).join('\n').length <= 16 * 1024);
    assert.deepEqual(
      lines.slice(0, shown),
      problems.slice(0, shown).map((problem) => `${MESSAGE_PREFIX} ${describeProblem(problem)}`),
    );
    assert.deepEqual(lines.slice(shown), [
      `${MESSAGE_PREFIX} ${problems.length - shown} more configuration problems are not shown; \`rpcplugin-telemetry env\` lists them all.`,
      `${MESSAGE_PREFIX} RPCPLUGIN_STRICT=true: exiting with code 78 because of ${problems.length} configuration problems.`,
    ]);
  });
});

describe('a preloaded app with long list values runs, on every runtime', async () => {
  const versions = await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)));
  // Only the configuration check is under test: no instrumentation, so nothing is exported at exit.
  const env = { ...LONG_LISTS, RPCPLUGIN_INSTRUMENTATIONS: 'none', APP_EXIT_CODE: '3' };
  /** Two one-line messages; before the fix, hundreds of megabytes or a heap abort. */
  const STDERR_BOUND = 4096;

  for (const row of AGENT_RUNS) {
    const script = fixture(row.format === 'esm' ? 'app.mjs' : 'app.cjs');
    describe(`${row.runtime} (${versions[row.runtime]}) ${row.loader.name}`, () => {
      test('the app runs and exits with its own code; stderr is small and names both variables', async () => {
        const run = await runApp({ runtime: row.runtime, loader: row.loader, script, env });
        assert.equal(run.exitCode, 3, `${run.command}\n${run.stderr.slice(0, 2000)}`);
        assert.ok(run.stderr.length < STDERR_BOUND, `${run.stderr.length} bytes on stderr`);
        const lines = run.stderr.split('\n');
        assert.match(lines[0] ?? '', /^rpcplugin-telemetry: OTEL_RESOURCE_ATTRIBUTES="a=b,\[redacted\],/);
        assert.match(lines[1] ?? '', /^rpcplugin-telemetry: OTEL_TRACES_EXPORTER="otlp,x,x,/);
        assert.deepEqual(lines.slice(2), ['app: first line', 'app: last line', '']);
      });

      test('strict mode: exit code 78 before the app runs, stderr small', async () => {
        const run = await runApp({
          runtime: row.runtime,
          loader: row.loader,
          script,
          env: { ...env, RPCPLUGIN_STRICT: 'true' },
        });
        assert.equal(run.exitCode, 78, `${run.command}\n${run.stderr.slice(0, 2000)}`);
        assert.ok(run.stderr.length < STDERR_BOUND, `${run.stderr.length} bytes on stderr`);
        assert.equal(run.stdout.length, 0);
        const lines = run.stderr.split('\n');
        assert.equal(lines.length, 4, run.stderr);
        assert.match(lines[0] ?? '', /^rpcplugin-telemetry: OTEL_RESOURCE_ATTRIBUTES=/);
        assert.match(lines[1] ?? '', /^rpcplugin-telemetry: OTEL_TRACES_EXPORTER=/);
        assert.equal(
          lines[2],
          'rpcplugin-telemetry: RPCPLUGIN_STRICT=true: exiting with code 78 because of 2 configuration problems.',
        );
      });
    });
  }
});
