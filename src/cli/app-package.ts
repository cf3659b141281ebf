/**
 * The package.json the agent would take the service name from, seen from the working directory:
 * the agent reads the one nearest to the app's main script, which `env` cannot know, so it shows
 * the nearest to where it runs, the usual place to run it from. As in the agent, the nearest
 * readable package.json counts, with or without a name.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface FoundPackage {
  readonly name: string | undefined;
  /** The package.json, relative to the working directory. */
  readonly path: string;
}

export function nearestPackage(cwd: string): FoundPackage | undefined {
  for (let directory = cwd; ; directory = dirname(directory)) {
    const file = join(directory, 'package.json');
    let parsed: { name?: unknown };
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown };
    } catch {
      if (dirname(directory) === directory) return undefined;
      continue;
    }
    const name = typeof parsed.name === 'string' && parsed.name !== '' ? parsed.name : undefined;
    return { name, path: relative(cwd, file) };
  }
}
