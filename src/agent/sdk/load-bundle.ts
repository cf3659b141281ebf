import { createRequire } from 'node:module';

/**
 * Loads another bundle of ours from dist/ (beside agent.cjs) at run time: what only some
 * configurations use is kept out of agent.cjs, so nobody pays for loading it unasked.
 */
export function loadSibling<T>(bundle: string): T {
  // A computed name, so esbuild leaves the require alone instead of bundling it here.
  return createRequire(__filename)(`./${bundle}`) as T;
}
