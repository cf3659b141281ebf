/**
 * What the preload does before the application's first line: read and check the configuration,
 * report every problem once on stderr, and in strict mode stop the process. Starting the SDK
 * comes later (agent issue); this module already holds the guards it will need.
 */
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';
import { type EnvSource, formatProblemReport, loadConfig, MESSAGE_PREFIX, STRICT_EXIT_CODE } from '../env/index.ts';
import { writeStderr } from './stderr.ts';

// Shared by the CommonJS and ESM bundles, which can both be loaded into one process
// (`--require` and `--import` together): whichever runs first does the work.
const STATE_KEY = Symbol.for('rpcplugin-telemetry.preload');

type GlobalWithState = typeof globalThis & { [STATE_KEY]?: { startedAt: number } };

export function runPreload(): void {
  if (!isMainThread) return;
  const global = globalThis as GlobalWithState;
  if (global[STATE_KEY]) return;
  global[STATE_KEY] = { startedAt: Date.now() };

  let exitCode: number | undefined;
  try {
    const env = readEnvironment();
    if (env === undefined) return;
    const { config, problems } = loadConfig(env);
    const report = formatProblemReport(problems, config.strict);
    if (report !== '') writeStderr(report);
    if (config.strict && problems.length > 0) exitCode = STRICT_EXIT_CODE;
  } catch (error) {
    // A bug of ours must not take the application down: say so and let it run without telemetry.
    writeStderr(`${MESSAGE_PREFIX} internal error, telemetry is off: ${describeError(error)}\n`);
  }
  if (exitCode !== undefined) process.exit(exitCode);
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** The environment, or undefined with one warning when the runtime refuses it (Deno without --allow-env). */
function readEnvironment(): EnvSource | undefined {
  try {
    return { ...process.env };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    writeStderr(
      `${MESSAGE_PREFIX} cannot read environment variables (${reason}); telemetry is off. On Deno, allow it with --allow-env.\n`,
    );
    return undefined;
  }
}
