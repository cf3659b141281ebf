/**
 * The package as a user gets it: `npm pack` of this repository (the dist/ that `npm test` has just
 * built; --ignore-scripts so packing does not rebuild), installed offline into a fresh app whose
 * package.json depends on it by version, then preloaded by its package name on every runtime.
 */
import assert from 'node:assert/strict';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  commandLine,
  fixture,
  LOADERS,
  loader,
  type Preload,
  REPO_ROOT,
  type RunResult,
  type RuntimeName,
  runApp as runAppWithAgent,
  runNpm,
  spawnCollect,
} from './support/runtimes.ts';

/**
 * These tests are about loading the preload, so no instrumentation runs: with the process metrics
 * on, the final flush at exit would try the default collector (absent here) and say it failed.
 */
function runApp(options: Parameters<typeof runAppWithAgent>[0]): ReturnType<typeof runAppWithAgent> {
  return runAppWithAgent({ ...options, env: { RPCPLUGIN_INSTRUMENTATIONS: 'none', ...options.env } });
}

const { name: PACKAGE, version: VERSION } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

const BAD_DELAY = { OTEL_BSP_SCHEDULE_DELAY: 'abc', APP_EXIT_CODE: '3' };
const BAD_DELAY_LINE =
  'rpcplugin-telemetry: OTEL_BSP_SCHEDULE_DELAY="abc" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using the default 5000.';

/** The package name as Node and Bun resolve it, and as Deno needs it. */
const BY_NAME: Preload = { esm: `${PACKAGE}/register`, cjs: `${PACKAGE}/register` };
const BY_NPM_NAME: Preload = { esm: `npm:${PACKAGE}/register`, cjs: `npm:${PACKAGE}/register` };
const BY_PATH: Preload = {
  esm: `./node_modules/${PACKAGE}/dist/register.mjs`,
  cjs: `./node_modules/${PACKAGE}/dist/register.cjs`,
};

function assertSucceeded(result: RunResult, what: string): void {
  assert.equal(result.exitCode, 0, `${what} failed: ${result.command}\n${result.stderr}\n${result.stdout.toString()}`);
}

/** The installed peer dependency, packed into the workspace so that the install needs no registry. */
const API_DIR = join(REPO_ROOT, 'node_modules', '@opentelemetry', 'api');

let workspace = '';
let app = '';
let packedFiles: string[] = [];
/** What `npm pack --json` reported: the size of the files unpacked, in bytes. */
let unpackedSize = 0;

/** Issue 11's budget for a production install: node_modules on disk, and the packages in it. */
const INSTALL_BUDGET = { bytes: 10_000_000, packages: 10 };

/** Disk usage of a tree as `du` counts it (allocated blocks, each link once), in bytes. */
function diskUsage(path: string): number {
  const stats = lstatSync(path);
  const own = stats.blocks * 512;
  if (!stats.isDirectory()) return own;
  return readdirSync(path).reduce((total, name) => total + diskUsage(join(path, name)), own);
}

/** An app directory in the workspace: package.json with `dependencies`, the fixture apps, and optionally the installed node_modules of `app`. */
function makeApp(name: string, dependencies: Record<string, string>, copyNodeModules = false): string {
  const dir = join(workspace, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, private: true, dependencies }, null, 2)}\n`);
  for (const file of ['app.mjs', 'app.cjs', 'app.ts']) cpSync(fixture(file), join(dir, file));
  if (copyNodeModules) cpSync(join(app, 'node_modules'), join(dir, 'node_modules'), { recursive: true });
  return dir;
}

/** What `npm install` of the tarball said on stderr. */
let installStderr = '';

before(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-install-'));
  const pack = await runNpm('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', workspace], {
    cwd: REPO_ROOT,
  });
  assertSucceeded(pack, 'npm pack');
  const [packed] = JSON.parse(pack.stdout.toString('utf8')) as {
    filename: string;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  assert.ok(packed, pack.stdout.toString());
  packedFiles = packed.files.map((file) => file.path);
  unpackedSize = packed.unpackedSize;

  // Depends on the package by version, as a user's app does; the tarball stands in for the registry.
  app = makeApp('app', { [PACKAGE]: VERSION });
  // The one peer dependency, @opentelemetry/api (the public API's types), packed from this
  // repository's node_modules and installed beside ours, into an empty npm cache: the install needs
  // nothing from the network, nor from whatever the machine's cache happens to hold (a cache filled by
  // `npm ci` has the tarballs but not the registry metadata needed to resolve a version).
  const cache = join(workspace, 'npm-cache');
  const packApi = await runNpm(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--cache', cache, '--pack-destination', workspace, API_DIR],
    { cwd: workspace },
  );
  assertSucceeded(packApi, 'npm pack @opentelemetry/api');
  const [api] = JSON.parse(packApi.stdout.toString('utf8')) as { filename: string }[];
  assert.ok(api, packApi.stdout.toString());
  const install = await runNpm(
    'npm',
    [
      'install',
      '--no-save',
      '--offline',
      '--cache',
      cache,
      '--no-audit',
      '--no-fund',
      join(workspace, packed.filename),
      join(workspace, api.filename),
    ],
    { cwd: app },
  );
  assertSucceeded(install, 'npm install --offline (the package must need nothing from the network)');
  installStderr = install.stderr;
  assert.deepEqual(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).dependencies, { [PACKAGE]: VERSION });
});

after(() => {
  if (workspace !== '') rmSync(workspace, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  test('has no install script, so installing it warns about none', () => {
    const installed = JSON.parse(readFileSync(join(app, 'node_modules', PACKAGE, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    const lifecycle = ['preinstall', 'install', 'postinstall', 'prepare'];
    assert.deepEqual(
      lifecycle.filter((name) => installed.scripts?.[name] !== undefined),
      [],
      'scripts that npm runs or announces at install',
    );
    assert.doesNotMatch(installStderr, /install-scripts|install script/i, installStderr);
  });

  test('holds the files the exports map and the bin point to', () => {
    const shipped = ['package.json', 'dist/register.mjs', 'dist/register.cjs', 'dist/index.mjs', 'dist/index.cjs'];
    for (const file of [...shipped, 'dist/cli.mjs', 'dist/types/index.d.ts']) {
      assert.ok(packedFiles.includes(file), `${file} missing from ${packedFiles.join(', ')}`);
    }
    assert.deepEqual(
      packedFiles.filter((file) => file.startsWith('src/') || file.startsWith('test/')),
      [],
      'sources and tests are not shipped',
    );
  });

  test('ships no source maps, and unpacks to at most 10 MB', () => {
    assert.deepEqual(
      packedFiles.filter((file) => file.endsWith('.map')),
      [],
      'source maps stay in a checkout (package.json "files")',
    );
    assert.ok(unpackedSize <= INSTALL_BUDGET.bytes, `unpacked size ${unpackedSize} bytes`);
  });

  test('installs, with its peer dependency, as at most 10 packages and 10 MB on disk', () => {
    const modules = join(app, 'node_modules');
    const lock = JSON.parse(readFileSync(join(modules, '.package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    const packages = Object.keys(lock.packages).filter((path) => path.startsWith('node_modules/'));
    assert.ok(packages.includes(`node_modules/${PACKAGE}`), packages.join(', '));
    assert.ok(packages.length <= INSTALL_BUDGET.packages, `${packages.length} packages: ${packages.join(', ')}`);
    const bytes = diskUsage(modules);
    assert.ok(bytes <= INSTALL_BUDGET.bytes, `node_modules takes ${bytes} bytes on disk`);
  });
});

describe('the public API from the installed package', () => {
  const consumer = `import { loadConfig, type Config } from '${PACKAGE}';
const config: Config = loadConfig({ OTEL_SERVICE_NAME: 'typed' }).config;
export const name: string | undefined = config.resource.serviceName;
`;

  for (const moduleResolution of ['nodenext', 'node10'] as const) {
    test(`its types check in a strict TypeScript app (moduleResolution ${moduleResolution})`, async () => {
      writeFileSync(join(app, `consumer-${moduleResolution}.ts`), consumer);
      const compilerOptions = {
        strict: true,
        noEmit: true,
        types: [],
        module: moduleResolution === 'nodenext' ? 'nodenext' : 'commonjs',
        moduleResolution,
      };
      writeFileSync(
        join(app, `tsconfig.${moduleResolution}.json`),
        JSON.stringify({ compilerOptions, files: [`consumer-${moduleResolution}.ts`] }),
      );
      const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
      const check = await spawnCollect(process.execPath, [tsc, '-p', `tsconfig.${moduleResolution}.json`], {
        cwd: app,
      });
      assertSucceeded(check, 'tsc');
    });
  }

  test('loadConfig works from import and from require', async () => {
    const script = `const { loadConfig } = %LOAD%;
process.stderr.write(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).config.logs.otlp.endpoint);`;
    const esm = script.replace('%LOAD%', `await import('${PACKAGE}')`);
    const cjs = script.replace('%LOAD%', `require('${PACKAGE}')`);
    writeFileSync(join(app, 'api.mjs'), esm);
    writeFileSync(join(app, 'api.cjs'), cjs);
    for (const file of ['api.mjs', 'api.cjs']) {
      const run = await spawnCollect(process.execPath, [file], { cwd: app });
      assertSucceeded(run, file);
      assert.equal(run.stderr, 'http://c:4318/v1/logs', file);
    }
  });
});

/**
 * Each way of loading that works (the table in test/support/runtimes.ts) with the installed package
 * named as a user names it, for an ESM and a CommonJS app, run from the app directory. The bunfig.toml
 * form needs its own directory and has its own test below. Bun and Deno also run the TypeScript app.
 */
const INSTALLED = LOADERS.filter((row) => row.works && row.name !== 'bunfig.toml preload').flatMap((row) =>
  (row.runtime.startsWith('node') ? ['app.mjs', 'app.cjs'] : ['app.mjs', 'app.cjs', 'app.ts']).map((script) => ({
    row,
    script,
    preload: row.runtime === 'deno' ? BY_NPM_NAME : BY_NAME,
  })),
);
// A path into node_modules works on Deno too.
INSTALLED.push({ row: loader('deno', '--preload'), script: 'app.mjs', preload: BY_PATH });

async function assertPreloaded(runtime: RuntimeName, run: RunResult, script: string, cwd: string): Promise<void> {
  const alone = await runApp({ runtime, script, cwd, env: { APP_EXIT_CODE: '3' } });
  assert.equal(alone.stderr, 'app: first line\napp: last line\n', alone.command);
  assert.equal(run.exitCode, 3, `${run.command}\n${run.stderr}`);
  assert.ok(run.stdout.equals(alone.stdout), `stdout of ${run.command}`);
  assert.equal(run.stderr, `${BAD_DELAY_LINE}\n${alone.stderr}`, run.command);
}

describe('the installed package preloads by name', () => {
  for (const { row, script, preload } of INSTALLED) {
    test(`${row.runtime}: ${commandLine({ runtime: row.runtime, loader: row, preloads: [preload], script })}`, async () => {
      const run = await runApp({
        runtime: row.runtime,
        loader: row,
        preloads: [preload],
        script,
        cwd: app,
        env: BAD_DELAY,
      });
      await assertPreloaded(row.runtime, run, script, app);
    });
  }

  test('bun: bunfig.toml in the app directory with preload = ["rpcplugin-telemetry/register"]', async () => {
    const dir = makeApp('bunfig-app', { [PACKAGE]: VERSION }, true);
    writeFileSync(join(dir, 'bunfig.toml'), `preload = ["${PACKAGE}/register"]\n`);
    for (const script of ['app.mjs', 'app.cjs', 'app.ts']) {
      const run = await runApp({ runtime: 'bun', script, cwd: dir, env: BAD_DELAY });
      // The app alone runs in `app`: in `dir` the bunfig.toml would preload the agent.
      await assertPreloaded('bun', run, script, app);
    }
  });
});

describe('what does not load the installed package on Deno', () => {
  test(`a bare specifier: ${commandLine({ runtime: 'deno', loader: loader('deno', '--preload'), preloads: [BY_NAME], script: 'app.mjs' })}`, async () => {
    const run = await runApp({
      runtime: 'deno',
      loader: loader('deno', '--preload'),
      preloads: [BY_NAME],
      script: 'app.mjs',
      cwd: app,
      env: BAD_DELAY,
    });
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, /error: Module not found "file:\/\/\/.*\/rpcplugin-telemetry\/register"/);
    assert.ok(!run.stderr.includes('app: first line'));
    assert.equal(run.stdout.length, 0);
  });

  // npm: is matched against package.json: the package must be listed there, by version.
  for (const [label, dependencies] of [
    ['not listed in package.json', {}],
    ['listed as a file: dependency', { [PACKAGE]: `file:../${PACKAGE}-${VERSION}.tgz` }],
  ] as const) {
    test(`npm:rpcplugin-telemetry/register when the package is in node_modules but ${label}`, async () => {
      const dir = makeApp(label.replace(/\W+/g, '-'), dependencies, true);
      const run = await runApp({
        runtime: 'deno',
        loader: loader('deno', '--preload'),
        preloads: [BY_NPM_NAME],
        script: 'app.mjs',
        cwd: dir,
        env: BAD_DELAY,
      });
      assert.equal(run.exitCode, 1, run.stderr);
      assert.match(
        run.stderr,
        /Could not find a matching package for 'npm:rpcplugin-telemetry' in the node_modules directory/,
      );
      assert.ok(!run.stderr.includes('app: first line'));
      assert.equal(run.stdout.length, 0);
      // The control: the same node_modules serves a path, which needs no package.json entry.
      const byPath = await runApp({
        runtime: 'deno',
        loader: loader('deno', '--preload'),
        preloads: [BY_PATH],
        script: 'app.mjs',
        cwd: dir,
        env: BAD_DELAY,
      });
      await assertPreloaded('deno', byPath, 'app.mjs', app);
    });
  }
});

describe('the rpcplugin-telemetry command from the installed package', () => {
  const commands: readonly [string, () => Promise<RunResult>][] = [
    // COLUMNS: wide enough for the problem to stay on one line.
    [
      'npx rpcplugin-telemetry env',
      () => runNpm('npx', ['--offline', PACKAGE, 'env'], { cwd: app, env: { ...BAD_DELAY, COLUMNS: '200' } }),
    ],
    [
      'node_modules/.bin/rpcplugin-telemetry env',
      () =>
        spawnCollect(join(app, 'node_modules', '.bin', PACKAGE), ['env'], {
          cwd: app,
          env: { ...BAD_DELAY, COLUMNS: '200' },
        }),
    ],
  ];
  for (const [name, run] of commands) {
    test(`${name} prints the configuration table with the problem`, async () => {
      const result = await run();
      assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
      const lines = result.stdout.toString('utf8').split('\n');
      assert.match(lines[0] ?? '', /^rpcplugin-telemetry configuration: telemetry enabled, role /);
      const text = result.stdout.toString('utf8');
      assert.ok(
        lines.some((line) => line.startsWith('  OTEL_BSP_SCHEDULE_DELAY ')),
        text,
      );
      assert.ok(text.includes(BAD_DELAY_LINE.replace('rpcplugin-telemetry: ', '')), text);
    });
  }

  test('node_modules/.bin/rpcplugin-telemetry --version is the package version', async () => {
    const result = await spawnCollect(join(app, 'node_modules', '.bin', PACKAGE), ['--version'], { cwd: app });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.toString('utf8'), `${VERSION}\n`);
  });
});
