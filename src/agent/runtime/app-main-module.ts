/**
 * Where the app's main module is, as the runtime resolves the app's own `require` and `import` from
 * it. The instrumentations resolve the packages they patch (grpc-js, pino) from here, so that they
 * reach the copies the app itself gets, and all of them the same ones.
 *
 * A main script reached through a symbolic link resolves from its real path on Node (unless
 * `--preserve-symlinks-main`), on Bun, and on Deno when the main is CommonJS; Deno loads an ES
 * module (or TypeScript) main by the path it was given. Measured with a symlinked main whose link and
 * target directories hold different node_modules (test/runtime.app-main-module.test.ts).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import process from 'node:process';
import { detectRuntime } from './runtime.ts';

/** The app's main module; a file in the working directory for `node -e` and the REPL. */
export function appMainModule(): string {
  const main = process.argv[1];
  if (main === undefined || main === '') return join(process.cwd(), '[eval]');
  const file = resolve(main);
  return resolvesFromRealPath(file) ? realPathOf(file) : file;
}

function resolvesFromRealPath(file: string): boolean {
  switch (detectRuntime().name) {
    case 'bun':
      return true;
    case 'deno':
      return isDenoCommonJs(file);
    default:
      return !preservesSymlinksMain();
  }
}

/** `node --preserve-symlinks-main`, on the command line or in NODE_OPTIONS. */
function preservesSymlinksMain(): boolean {
  const flag = '--preserve-symlinks-main';
  return process.execArgv.includes(flag) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(flag);
}

/**
 * Whether Deno runs this main as CommonJS: a .cjs or .cts file, or a .js file whose nearest
 * package.json (from the path as given) says "type": "commonjs". Deno's `--unstable-detect-cjs`
 * guess from the source is not followed.
 */
function isDenoCommonJs(file: string): boolean {
  const extension = extname(file);
  if (extension === '.cjs' || extension === '.cts') return true;
  return extension === '.js' && nearestPackageType(dirname(file)) === 'commonjs';
}

function nearestPackageType(directory: string): unknown {
  for (let dir = directory; ; dir = dirname(dir)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      // None here: look further up.
    }
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type;
      } catch {
        return undefined;
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The real path of the main module. `node app` names app.js without its extension: then the real
 * path of its directory, which is where the resolution starts.
 */
function realPathOf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    try {
      return join(realpathSync(dirname(file)), basename(file));
    } catch {
      return file;
    }
  }
}
