/**
 * Finding the @grpc/grpc-js the app uses: the copy Node's resolution finds from the app's main
 * module (runtime/app-main-module.ts), the same one the app's own `require` or `import` gets. ESM
 * imports of grpc-js (a CommonJS package) share the CommonJS instance on Node, Bun and Deno, so
 * patching it here, before the app's first line runs, reaches the app whichever way it loads
 * grpc-js. Nothing is loaded when the app has no grpc-js.
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { appMainModule } from '../runtime/app-main-module.ts';

export interface AppGrpc {
  /** Where grpc-js's modules are (its build/src directory). */
  readonly directory: string;
  readonly version: string;
  /** Loads one of grpc-js's own modules (`index.js`, `client.js`…) from that directory. */
  load(module: string): unknown;
}

/**
 * The app's grpc-js, or undefined when it has none installed (or this runtime may not read it).
 */
export function findAppGrpc(): AppGrpc | undefined {
  const require = createRequire(appMainModule());
  let index: string;
  let version: unknown;
  try {
    index = require.resolve('@grpc/grpc-js');
    // Bun without a node_modules directory resolves any package from its global auto-install cache:
    // an app that does not depend on grpc-js would get it loaded. Only an installed copy is the app's.
    if (!index.includes(`${sep}node_modules${sep}`)) return undefined;
    version = (require('@grpc/grpc-js/package.json') as { version?: unknown }).version;
  } catch {
    return undefined;
  }
  const directory = dirname(index);
  return {
    directory,
    version: typeof version === 'string' ? version : 'unknown',
    load: (module) => require(join(directory, module)),
  };
}

/** The grpc-js versions whose internals the agent knows: tested with the oldest and the newest. */
export const SUPPORTED_RANGE = '>=1.8.0 <2.0.0';

export function isSupportedVersion(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.\d+/.exec(version);
  if (match === null) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major === 1 && minor >= 8;
}
