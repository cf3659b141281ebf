/**
 * Runs an application on Node 20, 22, 24 or 26, Bun or Deno with the agent preloaded the way a user
 * would: a command-line flag, an environment variable or a config file. Every child gets a clean,
 * explicit environment (PATH, HOME, cache locations, plus what the test gives), so the developer's
 * OTEL_* variables and the test runner's own variables (NODE_TEST_CONTEXT, NODE_OPTIONS, npm_*)
 * cannot leak in, and a time limit, so a hung child fails the test instead of hanging it.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, sep } from 'node:path';
import process from 'node:process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file (or its bundle in build/test) whose package.json is ours. */
export const REPO_ROOT: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'rpcplugin-telemetry') return dir;
    if (dirname(dir) === dir) throw new Error(`no rpcplugin-telemetry package.json above ${start}`);
  }
}

export const FIXTURES: string = join(REPO_ROOT, 'test', 'fixtures');

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** How one loader names the preload module: ESM loaders take `esm`, CommonJS loaders take `cjs`. */
export interface Preload {
  readonly esm: string;
  readonly cjs: string;
}

/** The built preload in dist/, what `npm test` has just built. */
export const BUILT_PRELOAD: Preload = {
  esm: join(REPO_ROOT, 'dist', 'register.mjs'),
  cjs: join(REPO_ROOT, 'dist', 'register.cjs'),
};

/**
 * The Node lines tested, oldest first. Node 20 is past its end of life (April 2026) and tested on
 * a best-effort basis, as the Node that runs the tests; 22, 24 and 26 are the supported lines.
 */
export const NODE_LINES = ['node20', 'node22', 'node24', 'node26'] as const;
export type NodeLine = (typeof NODE_LINES)[number];

export type RuntimeName = NodeLine | 'bun' | 'deno';

/** Every runtime the tests run, each once: the Node lines, then Bun and Deno. */
export const RUNTIMES: readonly RuntimeName[] = [...NODE_LINES, 'bun', 'deno'];

export function isNodeLine(runtime: RuntimeName): runtime is NodeLine {
  return (NODE_LINES as readonly string[]).includes(runtime);
}

const MODULES = join(REPO_ROOT, 'node_modules');
const BIN = join(MODULES, '.bin');

/**
 * The executables: node20 is the Node running the tests; the others come from devDependencies.
 * The node22, node24 and node26 packages all install a bin named `node`, so node_modules/.bin/node
 * is whichever npm linked last: each Node is named by its package's path.
 */
export const RUNTIME_BINARIES: Readonly<Record<RuntimeName, string>> = {
  node20: process.execPath,
  node22: join(MODULES, 'node22', 'bin', 'node'),
  node24: join(MODULES, 'node24', 'bin', 'node'),
  node26: join(MODULES, 'node26', 'bin', 'node'),
  bun: join(BIN, 'bun'),
  deno: join(BIN, 'deno'),
};

/** What the agent reports as process.runtime.name on `runtime`. */
export function processRuntimeName(runtime: RuntimeName): 'nodejs' | 'bun' | 'deno' {
  return isNodeLine(runtime) ? 'nodejs' : runtime;
}

/** What a loader adds to a launch: flags before the script, environment variables, files in the cwd. */
export interface Launch {
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Files written into a fresh temporary working directory (bunfig.toml). */
  readonly files?: Readonly<Record<string, string>>;
}

/** One way of preloading modules on one runtime, named the way the docs name it. */
export interface Loader {
  readonly runtime: RuntimeName;
  readonly name: string;
  /** Whether the runtime honours it; the ones that don't are kept to prove the docs' "does not work". */
  readonly works: boolean;
  launch(preloads: readonly Preload[]): Launch;
}

/** NODE_OPTIONS and BUN_OPTIONS split on spaces; a path with spaces has to be quoted. */
function optionValue(path: string): string {
  return /\s/.test(path) ? JSON.stringify(path) : path;
}

const flags = (flag: string, kind: keyof Preload) => (preloads: readonly Preload[]) =>
  preloads.flatMap((preload) => [flag, preload[kind]]);

const options = (flag: string, kind: keyof Preload) => (preloads: readonly Preload[]) =>
  preloads.map((preload) => `${flag} ${optionValue(preload[kind])}`).join(' ');

function nodeLoaders(runtime: NodeLine): Loader[] {
  return [
    { runtime, name: '--require', works: true, launch: (p) => ({ args: flags('--require', 'cjs')(p) }) },
    { runtime, name: '--import', works: true, launch: (p) => ({ args: flags('--import', 'esm')(p) }) },
    {
      runtime,
      name: 'NODE_OPTIONS=--require',
      works: true,
      launch: (p) => ({ env: { NODE_OPTIONS: options('--require', 'cjs')(p) } }),
    },
    {
      runtime,
      name: 'NODE_OPTIONS=--import',
      works: true,
      launch: (p) => ({ env: { NODE_OPTIONS: options('--import', 'esm')(p) } }),
    },
  ];
}

/** Every (runtime, loader) pair the tests know, the ones that work first. */
export const LOADERS: readonly Loader[] = [
  ...NODE_LINES.flatMap(nodeLoaders),
  { runtime: 'bun', name: '--preload', works: true, launch: (p) => ({ args: flags('--preload', 'esm')(p) }) },
  {
    runtime: 'bun',
    name: 'bunfig.toml preload',
    works: true,
    launch: (p) => ({ files: { 'bunfig.toml': `preload = ${JSON.stringify(p.map((preload) => preload.esm))}\n` } }),
  },
  {
    runtime: 'bun',
    name: 'BUN_OPTIONS=--preload',
    works: true,
    launch: (p) => ({ env: { BUN_OPTIONS: options('--preload', 'esm')(p) } }),
  },
  { runtime: 'deno', name: '--preload', works: true, launch: (p) => ({ args: flags('--preload', 'esm')(p) }) },
  { runtime: 'deno', name: '--require', works: true, launch: (p) => ({ args: flags('--require', 'cjs')(p) }) },
  {
    runtime: 'deno',
    name: 'NODE_OPTIONS=--require',
    works: true,
    launch: (p) => ({ env: { NODE_OPTIONS: options('--require', 'cjs')(p) } }),
  },
  // Known not to work: kept so that the docs' "does not work" is a tested claim.
  {
    runtime: 'bun',
    name: 'NODE_OPTIONS=--import',
    works: false,
    launch: (p) => ({ env: { NODE_OPTIONS: options('--import', 'esm')(p) } }),
  },
  {
    runtime: 'bun',
    name: 'NODE_OPTIONS=--require',
    works: false,
    launch: (p) => ({ env: { NODE_OPTIONS: options('--require', 'cjs')(p) } }),
  },
  {
    runtime: 'deno',
    name: 'NODE_OPTIONS=--import',
    works: false,
    launch: (p) => ({ env: { NODE_OPTIONS: options('--import', 'esm')(p) } }),
  },
];

export function loader(runtime: RuntimeName, name: string): Loader {
  const found = LOADERS.find((candidate) => candidate.runtime === runtime && candidate.name === name);
  if (found === undefined) throw new Error(`no loader ${name} for ${runtime}`);
  return found;
}

/** The format of an app a test runs under the agent: an ES module or CommonJS. */
export type AppFormat = 'esm' | 'cjs';

/** One run of an agent test: a runtime, how the preload is loaded, and the app's format. */
export interface AgentRun {
  readonly runtime: RuntimeName;
  readonly loader: Loader;
  readonly format: AppFormat;
}

/**
 * The documented way to preload the agent into an app of `format` on `runtime`: on Node, --import
 * for an ES module and --require for CommonJS; Bun's and Deno's --preload for both.
 */
export function documentedRun(runtime: RuntimeName, format: AppFormat): AgentRun {
  const name = isNodeLine(runtime) ? (format === 'esm' ? '--import' : '--require') : '--preload';
  return { runtime, loader: loader(runtime, name), format };
}

/** Each runtime with its documented preload flag, and Node's --require with a CommonJS app. */
export const AGENT_RUNS: readonly AgentRun[] = RUNTIMES.flatMap((runtime) =>
  isNodeLine(runtime)
    ? [documentedRun(runtime, 'esm'), documentedRun(runtime, 'cjs')]
    : [documentedRun(runtime, 'esm')],
);

/**
 * One run per runtime, with its documented preload flag, for tests whose subject is not how the
 * agent is loaded. The Node lines alternate from the oldest, an ES module with --import then CommonJS
 * with --require (Node 20 and 24 ESM, 22 and 26 CommonJS), so that each such test still sees both.
 */
export const RUNTIME_RUNS: readonly AgentRun[] = RUNTIMES.map((runtime) =>
  documentedRun(runtime, isNodeLine(runtime) && NODE_LINES.indexOf(runtime) % 2 === 1 ? 'cjs' : 'esm'),
);

export interface RunResult {
  /** The exact bytes the child wrote to stdout. */
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The command line, for assertion messages. */
  readonly command: string;
}

export interface SpawnOptions {
  readonly cwd?: string;
  /** Added to the clean base environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds before the child is killed and the run fails; 20 s by default. */
  readonly timeoutMs?: number;
  /** Called with the child as soon as it is spawned: to watch its output as it comes, or signal it. */
  readonly onSpawn?: (child: ChildProcessByStdio<null, Readable, Readable>) => void;
}

export interface RunAppOptions extends SpawnOptions {
  readonly runtime: RuntimeName;
  /** The application's main module. */
  readonly script: string;
  /** How to preload, and what; no loader runs the application alone. */
  readonly loader?: Loader;
  readonly preloads?: readonly Preload[];
  /** Deno permission flags; `-A` unless a test is about permissions. */
  readonly denoPermissions?: readonly string[];
}

/** Runs `script` on `runtime`, preloading `preloads` (the built agent by default) with `loader`. */
export async function runApp(options: RunAppOptions): Promise<RunResult> {
  const { runtime, script, loader, preloads = [BUILT_PRELOAD], denoPermissions = ['-A'] } = options;
  if (loader !== undefined && loader.runtime !== runtime) {
    throw new Error(`loader ${loader.name} belongs to ${loader.runtime}, not ${runtime}`);
  }
  const launch: Launch = loader?.launch(preloads) ?? {};
  const runtimeArgs = runtime === 'deno' ? ['run', ...denoPermissions] : [];
  const args = [...runtimeArgs, ...(launch.args ?? []), script];
  const env = { ...options.env, ...launch.env };
  if (launch.files === undefined) return spawnCollect(RUNTIME_BINARIES[runtime], args, { ...options, env });
  if (options.cwd !== undefined) throw new Error(`${loader?.name} needs its own working directory; do not give cwd`);

  const cwd = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-cwd-'));
  try {
    for (const [name, text] of Object.entries(launch.files)) writeFileSync(join(cwd, name), text);
    return await spawnCollect(RUNTIME_BINARIES[runtime], args, { ...options, env, cwd });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** The launch as a user would type it, for test titles: `NODE_OPTIONS='--import x' node app.mjs`. */
export function commandLine(options: Pick<RunAppOptions, 'runtime' | 'script' | 'loader' | 'preloads'>): string {
  const { runtime, script, loader, preloads = [BUILT_PRELOAD] } = options;
  const launch: Launch = loader?.launch(preloads) ?? {};
  const quote = (word: string) => (/^[\w./:=@-]+$/.test(word) ? word : `'${word}'`);
  const words = [
    ...Object.entries(launch.env ?? {}).map(([name, value]) => `${name}=${quote(value)}`),
    runtime.startsWith('node') ? 'node' : runtime,
    ...(runtime === 'deno' ? ['run', '-A'] : []),
    ...(launch.args ?? []).map(quote),
    script,
  ];
  const files = Object.entries(launch.files ?? {}).map(([name, text]) => `  # ${name}: ${text.trim()}`);
  return words.join(' ') + files.join('');
}

/**
 * PATH without any node_modules/.bin (inside `npm test` the `node` there is one of the Node
 * devDependencies) and with the test runner's Node first, so `#!/usr/bin/env node` scripts (npm,
 * our bin) run on it.
 */
export function cleanPath(): string {
  const entries = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(delimiter)
    .filter((entry) => entry !== '' && !entry.endsWith(`node_modules${sep}.bin`) && !entry.includes('node-gyp-bin'));
  return [dirname(process.execPath), ...entries].join(delimiter);
}

/** Where the runtimes keep their caches, passed through so that nothing needs the network. */
const PASSED_THROUGH = ['HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'DENO_DIR', 'BUN_INSTALL', 'BUN_INSTALL_CACHE_DIR'];

export function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: cleanPath(),
    NO_COLOR: '1',
    DENO_NO_UPDATE_CHECK: '1',
    DO_NOT_TRACK: '1',
  };
  for (const name of PASSED_THROUGH) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Spawns `command` with the clean environment plus `options.env`, collects its output, and enforces the time limit. */
export function spawnCollect(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  const { cwd = FIXTURES, timeoutMs = 20_000 } = options;
  const env = { ...baseEnvironment(), ...options.env };
  const shown = [
    ...Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`),
    command,
    ...args,
  ].join(' ');
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also kills what it started (npm starts node).
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    options.onSpawn?.(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      reject(
        new Error(
          `timed out after ${timeoutMs} ms: ${shown}\nstderr so far:\n${Buffer.concat(stderr).toString('utf8')}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${shown}: ${error.message}`));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode,
        signal,
        command: shown,
      });
    });
  });
}

/** The version each of `runtimes` reports (runtimeVersion), asked once for all of them. */
export async function runtimeVersions(runtimes: Iterable<RuntimeName>): Promise<Record<RuntimeName, string>> {
  const versions = await Promise.all([...runtimes].map(async (runtime) => [runtime, await runtimeVersion(runtime)]));
  return Object.fromEntries(versions) as Record<RuntimeName, string>;
}

/** The version a runtime reports, for test titles. */
export async function runtimeVersion(runtime: RuntimeName): Promise<string> {
  const { stdout } = await spawnCollect(RUNTIME_BINARIES[runtime], ['--version']);
  const text = stdout.toString('utf8').trim();
  return (text.split('\n')[0] ?? text).replace(/^deno /, '').replace(/\s*\(.*$/, '');
}

/** npm's CLI script: the one running this `npm test`, else the one installed beside this Node. */
function npmScript(name: 'npm-cli.js' | 'npx-cli.js'): string {
  const candidates = [
    process.env.npm_execpath,
    join(dirname(realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  for (const candidate of candidates) {
    if (candidate?.endsWith('npm-cli.js') && existsSync(candidate)) return join(dirname(candidate), name);
  }
  throw new Error('cannot find npm next to this Node; set npm_execpath');
}

/** Runs npm (or npx) on the test runner's Node, with the clean environment. */
export function runNpm(tool: 'npm' | 'npx', args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  const script = npmScript(tool === 'npm' ? 'npm-cli.js' : 'npx-cli.js');
  return spawnCollect(process.execPath, [script, ...args], { timeoutMs: 60_000, ...options });
}
