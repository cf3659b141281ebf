import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * A runtime module loaded at its first use instead of with the agent: node:https brings tls and
 * crypto (about 5 MiB and 20 ms on Node 24), node:zlib about 2 MiB, and the default configuration
 * (plain HTTP, no compression) needs neither. Works in the CommonJS bundles and the ESM ones.
 */
export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= createRequire(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url))(name) as T;
    return loaded;
  };
}
