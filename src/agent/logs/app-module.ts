/**
 * Reaching the application's own copy of a CommonJS package before the application loads it, on
 * every runtime and loader, without loading it when the application never does.
 *
 * The package is resolved the way the app's main module resolves it (runtime/app-main-module.ts),
 * and a placeholder module is put in `require.cache` under that file name. The first `require()` or
 * `import` of the package reads the placeholder's `exports`: only then is the real package loaded,
 * passed through `wrap`, and the result is what the application (and every later importer) gets.
 *
 * Why this and not a module-load hook: Node's CommonJS loader, Node's ESM loader importing CommonJS
 * (20 and 24), Bun (`require` and `import`) and Deno (`require` and `import`) all take a module that
 * is in `require.cache` from there, so one mechanism serves all of them. `Module._load` patches are
 * not seen by Bun's or Deno's `import`, and an ESM loader hook (`module.register`) would cost a hooks
 * thread in every Node process for packages that are CommonJS anyway (docs/logs.md).
 */
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { appMainModule } from '../runtime/app-main-module.ts';
import { warn } from '../sdk/diagnostics.ts';

/**
 * Arranges for `wrap` to see the application's copy of `name` the first time it is loaded. When the
 * application cannot resolve the package (it does not depend on it), nothing is touched.
 */
export function interceptAppModule(name: string, wrap: (exports: unknown) => unknown): void {
  const require = createRequire(appMainModule());
  let filename: string;
  try {
    filename = require.resolve(name);
  } catch {
    return;
  }
  const cache = require.cache;
  const safeWrap = (exports: unknown) => {
    try {
      return wrap(exports);
    } catch (error) {
      warn(`cannot instrument ${name} (${(error as Error).message}); the app gets it unchanged.`);
      return exports;
    }
  };
  const loaded = cache[filename];
  if (loaded !== undefined) {
    // Loaded before us (another preload): the app has not used it yet, so wrapping in place still works.
    loaded.exports = safeWrap(loaded.exports);
    return;
  }
  cache[filename] = placeholderFor(filename, () => {
    // The placeholder steps aside and the real module loads under its own name, as it would have
    // without us (an error loading it reaches the app as it would have); it keeps the wrapped exports.
    delete cache[filename];
    const exports = safeWrap(require(filename));
    const real = cache[filename];
    if (real !== undefined) real.exports = exports;
    return exports;
  });
}

/** A loaded-looking module whose exports are made on first read; a write (by whoever) wins from then on. */
function placeholderFor(filename: string, load: () => unknown): Module {
  const placeholder = new Module(filename);
  placeholder.filename = filename;
  const { _nodeModulePaths } = Module as unknown as { _nodeModulePaths?: (from: string) => string[] };
  if (typeof _nodeModulePaths === 'function') placeholder.paths = _nodeModulePaths(dirname(filename));
  placeholder.loaded = true;
  let exports: { value: unknown } | undefined;
  Object.defineProperty(placeholder, 'exports', {
    configurable: true,
    enumerable: true,
    get() {
      exports ??= { value: load() };
      return exports.value;
    },
    set(value: unknown) {
      exports = { value };
    },
  });
  return placeholder;
}
