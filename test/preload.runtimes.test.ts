/**
 * The preload contract, on every runtime and every way of loading it (test/support/runtimes.ts has
 * the table): it runs before the application's first line, reports bad configuration once and
 * exactly on stderr, leaves stdout and the exit code alone, stops the process with 78 in strict
 * mode before user code runs, never shows a secret, and stays quiet in worker threads.
 *
 * Runs the built bundles in dist/, the files users install.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type EnvSource, formatProblemReport, loadConfig } from '../src/env/index.ts';
import {
  BUILT_PRELOAD,
  fixture,
  isNodeLine,
  type Launch,
  LOADERS,
  type Loader,
  loader,
  NODE_LINES,
  REPO_ROOT,
  RUNTIMES,
  type RunResult,
  type RuntimeName,
  runApp as runAppWithAgent,
  runtimeVersions,
} from './support/runtimes.ts';

/**
 * These tests are about loading the preload, so no instrumentation runs: with the process metrics
 * on, the final flush at exit would try the default collector (absent here) and say it failed.
 */
function runApp(options: Parameters<typeof runAppWithAgent>[0]): ReturnType<typeof runAppWithAgent> {
  return runAppWithAgent({ ...options, env: { RPCPLUGIN_INSTRUMENTATIONS: 'none', ...options.env } });
}

const VERSIONS = await runtimeVersions(RUNTIMES);

/** The apps each runtime runs: Node runs JavaScript; Bun and Deno also run the TypeScript app as is. */
function appsOf(runtime: RuntimeName): readonly string[] {
  return isNodeLine(runtime) ? ['app.mjs', 'app.cjs'] : ['app.mjs', 'app.cjs', 'app.ts'];
}

const BAD_DELAY = { OTEL_BSP_SCHEDULE_DELAY: 'abc' };
/** The warning for BAD_DELAY, written out once so a change of wording is a visible decision. */
const BAD_DELAY_LINE =
  'rpcplugin-telemetry: OTEL_BSP_SCHEDULE_DELAY="abc" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using the default 5000.';
const SECRET = 'S3CR3Tvalue';
const BAD_HEADERS = { OTEL_EXPORTER_OTLP_HEADERS: `authorization=${SECRET},broken` };

/** What the agent must print for `env`: computed with the same src/env functions the agent bundles. */
function expectedReport(env: EnvSource): string {
  const { config, problems } = loadConfig(env);
  return formatProblemReport(problems, config.strict);
}

/** What every fixture app writes to stderr by itself. */
const APP_STDERR = 'app: first line\napp: last line\n';

/**
 * The app alone on a runtime, without any preload: the reference for stdout, stderr and exit code.
 * Checked to be the working app, so that "the same as the app alone" can never mean "both broken".
 */
const baselines = new Map<string, Promise<RunResult>>();
function baseline(runtime: RuntimeName, app: string, env: { APP_EXIT_CODE: string }): Promise<RunResult> {
  const key = `${runtime} ${app} ${env.APP_EXIT_CODE}`;
  let run = baselines.get(key);
  if (run === undefined) {
    run = runApp({ runtime, script: fixture(app), env }).then((alone) => {
      assert.equal(alone.stderr, APP_STDERR, alone.command);
      assert.match(
        alone.stdout.toString('utf8'),
        /^1\|1\|tcp\|127\.0\.0\.1:1234\|grpc\n.* héllo wörld ✓\n\ttabbed line\nno newline at the end$/,
      );
      assert.equal(alone.exitCode, Number(env.APP_EXIT_CODE), alone.command);
      return alone;
    });
    baselines.set(key, run);
  }
  return run;
}

/** Runs every app of the runtime with the preload and without it, in parallel. */
function eachApp(
  row: Loader,
  env: Record<string, string>,
): Promise<{ app: string; run: RunResult; alone: RunResult }[]> {
  return Promise.all(
    appsOf(row.runtime).map(async (app) => {
      // The app alone gets the same variables minus the agent's: it does not read them.
      const appEnv = { APP_EXIT_CODE: env.APP_EXIT_CODE ?? '0' };
      const [run, alone] = await Promise.all([
        runApp({ runtime: row.runtime, loader: row, script: fixture(app), env }),
        baseline(row.runtime, app, appEnv),
      ]);
      return { app, run, alone };
    }),
  );
}

function assertSameOutput(run: RunResult, alone: RunResult): void {
  assert.ok(
    run.stdout.equals(alone.stdout),
    `stdout differs from the app alone for ${run.command}:\n${JSON.stringify(run.stdout.toString())}\n` +
      `expected\n${JSON.stringify(alone.stdout.toString())}`,
  );
  assert.equal(run.signal, null, run.command);
  assert.equal(run.exitCode, alone.exitCode, `exit code of ${run.command}\nstderr:\n${run.stderr}`);
}

const title = (row: Loader) => `${row.runtime} (${VERSIONS[row.runtime]}) ${row.name}`;

for (const row of LOADERS.filter((candidate) => candidate.works)) {
  describe(title(row), () => {
    test('with a valid configuration stdout, stderr and exit code are those of the app alone', async () => {
      for (const { run, alone } of await eachApp(row, { APP_EXIT_CODE: '0' })) {
        assertSameOutput(run, alone);
        assert.equal(run.exitCode, 0);
        assert.equal(run.stderr, alone.stderr, `stderr of ${run.command}`);
      }
    });

    test('a bad variable is reported exactly, once, before the first line of the app; stdout and exit code 3 unchanged', async () => {
      const env = { ...BAD_DELAY, APP_EXIT_CODE: '3' };
      for (const { run, alone } of await eachApp(row, env)) {
        assertSameOutput(run, alone);
        assert.equal(run.exitCode, 3);
        const lines = run.stderr.split('\n');
        assert.equal(lines[0], BAD_DELAY_LINE, run.command);
        assert.equal(lines[1], 'app: first line', `the report precedes the app: ${run.command}\n${run.stderr}`);
        assert.equal(run.stderr, expectedReport(env) + alone.stderr, run.command);
      }
    });

    test('RPCPLUGIN_STRICT=true with a bad variable exits 78 before the app runs, stdout empty', async () => {
      const env = { ...BAD_DELAY, RPCPLUGIN_STRICT: 'true', APP_EXIT_CODE: '3' };
      const run = await runApp({ runtime: row.runtime, loader: row, script: fixture('app.mjs'), env });
      assert.equal(run.exitCode, 78, `${run.command}\n${run.stderr}`);
      assert.equal(run.stdout.length, 0, `stdout of ${run.command}`);
      assert.ok(!run.stderr.includes('app: first line'), `the app ran: ${run.command}\n${run.stderr}`);
      assert.equal(run.stderr, expectedReport(env), run.command);
      assert.match(run.stderr, /RPCPLUGIN_STRICT=true: exiting with code 78 because of 1 configuration problem\.\n$/);
    });

    test('the value of a secret header never reaches stderr', async () => {
      const env = { ...BAD_HEADERS, APP_EXIT_CODE: '0' };
      for (const { run, alone } of await eachApp(row, env)) {
        assertSameOutput(run, alone);
        assert.ok(!run.stderr.includes(SECRET), `secret on stderr: ${run.command}\n${run.stderr}`);
        assert.match(run.stderr, /^rpcplugin-telemetry: OTEL_EXPORTER_OTLP_HEADERS="\[redacted\]" /);
        assert.equal(run.stderr, expectedReport(env) + alone.stderr, run.command);
      }
    });
  });
}

describe('loaders that do not load the preload', () => {
  for (const row of LOADERS.filter((candidate) => !candidate.works)) {
    test(`${title(row)} is ignored: the app runs without the agent`, async () => {
      for (const { run, alone } of await eachApp(row, { ...BAD_DELAY, APP_EXIT_CODE: '3' })) {
        assertSameOutput(run, alone);
        assert.equal(run.stderr, alone.stderr, `the agent ran: ${run.command}`);
      }
    });
  }

  test(`bun (${VERSIONS.bun}) bunfig.toml beside the script but not in the working directory is ignored`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-bunfig-'));
    try {
      writeFileSync(join(dir, 'bunfig.toml'), `preload = ${JSON.stringify([BUILT_PRELOAD.esm])}\n`);
      cpSync(fixture('app.mjs'), join(dir, 'app.mjs'));
      const env = { ...BAD_DELAY, APP_EXIT_CODE: '0' };
      const [run, alone, inDir] = await Promise.all([
        runApp({ runtime: 'bun', script: join(dir, 'app.mjs'), env }),
        baseline('bun', 'app.mjs', { APP_EXIT_CODE: '0' }),
        runApp({ runtime: 'bun', script: 'app.mjs', cwd: dir, env }),
      ]);
      assertSameOutput(run, alone);
      assert.equal(run.stderr, alone.stderr, `the agent ran: ${run.command}`);
      // The control: the same file is read when bun starts in that directory.
      assert.equal(inDir.stderr, expectedReport(env) + alone.stderr, inDir.command);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Both bundles in one process, the CommonJS one and the ESM one, each through its own loader. */
const { cjs, esm } = BUILT_PRELOAD;
const TWICE: readonly { runtime: RuntimeName; name: string; launch: Launch }[] = [
  ...NODE_LINES.map((runtime) => ({
    runtime,
    name: '--require register.cjs --import register.mjs',
    launch: { args: ['--require', cjs, '--import', esm] },
  })),
  {
    runtime: 'node20',
    name: 'NODE_OPTIONS="--require register.cjs" with --import register.mjs',
    launch: { args: ['--import', esm], env: { NODE_OPTIONS: `--require ${cjs}` } },
  },
  {
    runtime: 'bun',
    name: '--preload register.cjs --preload register.mjs',
    launch: { args: ['--preload', cjs, '--preload', esm] },
  },
  {
    runtime: 'deno',
    name: '--require register.cjs --preload register.mjs',
    launch: { args: ['--require', cjs, '--preload', esm] },
  },
];

describe('the preload loaded twice reports once', () => {
  for (const { runtime, name, launch } of TWICE) {
    test(`${runtime} (${VERSIONS[runtime]}) ${name}`, async () => {
      const env = { ...BAD_DELAY, APP_EXIT_CODE: '0' };
      const twice: Loader = { runtime, name, works: true, launch: () => launch };
      const [run, alone] = await Promise.all([
        runApp({ runtime, loader: twice, script: fixture('app.mjs'), env }),
        baseline(runtime, 'app.mjs', { APP_EXIT_CODE: '0' }),
      ]);
      assertSameOutput(run, alone);
      assert.equal(run.stderr, expectedReport(env) + alone.stderr, run.command);
    });
  }
});

describe('worker threads on Node do not run the agent again', () => {
  const probe = { esm: fixture('probe-preload.cjs'), cjs: fixture('probe-preload.cjs') };
  for (const row of LOADERS.filter((candidate) => candidate.works && candidate.runtime.startsWith('node'))) {
    test(title(row), async () => {
      const env = { ...BAD_DELAY };
      const run = await runApp({
        runtime: row.runtime,
        loader: row,
        preloads: [BUILT_PRELOAD, probe],
        script: fixture('worker-app.mjs'),
        env,
      });
      assert.equal(run.exitCode, 0, `${run.command}\n${run.stderr}`);
      const lines = run.stderr.split('\n');
      // The control: Node did run the preloads again in the worker…
      assert.ok(lines.includes('probe: preload ran in the worker thread'), `${run.command}\n${run.stderr}`);
      assert.ok(lines.includes('worker: first line'), run.stderr);
      assert.ok(lines.includes('app: worker exited with 0'), run.stderr);
      // …and the agent reported only in the main thread, before the app.
      assert.equal(lines.filter((line) => line.startsWith('rpcplugin-telemetry:')).length, 1, run.stderr);
      assert.equal(lines[0], BAD_DELAY_LINE, run.stderr);
      assert.ok(lines.indexOf('app: first line') > 0, run.stderr);
      assert.equal(run.stdout.length, 0);
    });
  }
});

describe('Deno permissions', () => {
  test(`deno (${VERSIONS.deno}) --allow-env alone: the configuration is checked, and one warning says the agent cannot be read`, async () => {
    const env = { ...BAD_DELAY, APP_EXIT_CODE: '3' };
    const [run, alone] = await Promise.all([
      runApp({
        runtime: 'deno',
        loader: loader('deno', '--preload'),
        script: fixture('app.mjs'),
        env,
        denoPermissions: ['--allow-env'],
      }),
      baseline('deno', 'app.mjs', { APP_EXIT_CODE: '3' }),
    ]);
    assertSameOutput(run, alone);
    const dist = join(REPO_ROOT, 'dist');
    const readWarning = `rpcplugin-telemetry: Deno does not allow reading ${dist}, where the agent is; telemetry is off. Run with --allow-read (or -A).\n`;
    assert.equal(run.stderr, expectedReport(env) + readWarning + alone.stderr, run.command);
  });

  test(`deno (${VERSIONS.deno}) --allow-env --allow-read without net and sys: one warning says what is left out, the app runs`, async () => {
    const env = { APP_EXIT_CODE: '3' };
    const [run, alone] = await Promise.all([
      runApp({
        runtime: 'deno',
        loader: loader('deno', '--preload'),
        script: fixture('app.mjs'),
        env,
        denoPermissions: ['--allow-env', '--allow-read'],
      }),
      baseline('deno', 'app.mjs', { APP_EXIT_CODE: '3' }),
    ]);
    assertSameOutput(run, alone);
    const warning =
      'rpcplugin-telemetry: Deno permissions missing: --allow-sys=hostname,osRelease (host and OS attributes are left out); --allow-net=localhost:4318 (those signals are not exported).\n';
    assert.equal(run.stderr, warning + alone.stderr, run.command);
  });

  test(`deno (${VERSIONS.deno}) --allow-env=<a list>: the agent cannot read the environment, says so once, the app runs`, async () => {
    const row = loader('deno', '--preload');
    const env = { ...BAD_DELAY, APP_EXIT_CODE: '3' };
    // The app itself needs APP_EXIT_CODE; the agent is given nothing else.
    const run = await runApp({
      runtime: 'deno',
      loader: row,
      script: fixture('app.mjs'),
      env,
      denoPermissions: ['--allow-env=APP_EXIT_CODE'],
    });
    const alone = await baseline('deno', 'app.mjs', { APP_EXIT_CODE: '3' });
    assertSameOutput(run, alone);
    const [warning, ...rest] = run.stderr.split('\n');
    // The reason in parentheses is Deno's own wording.
    assert.match(
      warning ?? '',
      /^rpcplugin-telemetry: cannot read environment variables \(.*--allow-env.*\); telemetry is off\. On Deno, allow it with --allow-env\.$/,
    );
    assert.equal(rest.join('\n'), alone.stderr, run.command);
  });
});

describe("Deno's built-in OpenTelemetry (OTEL_DENO)", () => {
  const env = { OTEL_DENO: 'true', APP_EXIT_CODE: '3' };

  test(`deno (${VERSIONS.deno}) OTEL_DENO=true: the agent stands aside with one line and the app is untouched`, async () => {
    const [run, alone] = await Promise.all([
      runApp({ runtime: 'deno', loader: loader('deno', '--preload'), script: fixture('app.mjs'), env }),
      baseline('deno', 'app.mjs', { APP_EXIT_CODE: '3' }),
    ]);
    assertSameOutput(run, alone);
    const standAside =
      "rpcplugin-telemetry: OTEL_DENO=true: Deno's built-in OpenTelemetry exports traces, metrics and logs; the agent does not start its own SDK.\n";
    assert.equal(run.stderr, standAside + alone.stderr, run.command);
  });

  test(`node20 OTEL_DENO=true means nothing outside Deno: no message`, async () => {
    const [run, alone] = await Promise.all([
      runApp({ runtime: 'node20', loader: loader('node20', '--import'), script: fixture('app.mjs'), env }),
      baseline('node20', 'app.mjs', { APP_EXIT_CODE: '3' }),
    ]);
    assertSameOutput(run, alone);
    assert.equal(run.stderr, alone.stderr, run.command);
  });
});
