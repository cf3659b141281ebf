/**
 * What the preload does before the application's first line: read and check the configuration,
 * report every problem once on stderr, stop the process in strict mode, and start the agent.
 * The SDK lives in a bundle of its own (dist/agent.cjs, see load-agent.ts), loaded only when
 * telemetry is on, so a disabled agent costs the configuration check and nothing else.
 */
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';
import {
  type EnvSource,
  formatProblemReport,
  loadConfig,
  MESSAGE_PREFIX,
  STRICT_EXIT_CODE,
  unreadableVariables,
} from '../../env/index.ts';
import { writeStderr } from '../runtime/stderr.ts';
import { loadAgent } from './load-agent.ts';
import { sharedState } from './shared-state.ts';
import { shouldStartAgent } from './start-decision.ts';

export function runPreload(): void {
  // Node runs preloads again in every worker thread; the agent belongs to the main thread only.
  if (!isMainThread) return;
  const state = sharedState();
  // The CommonJS and ESM bundles can both be loaded (`--require` and `--import`): the first one works.
  if (state.preloaded) return;
  state.preloaded = true;

  let exitCode: number | undefined;
  try {
    const env = readEnvironment();
    if (env === undefined) return;
    // The copy lacks what Deno hides (non-UTF-8 values); asked for by name, those are named too.
    const { config, problems } = loadConfig(env, { unreadable: unreadableVariables(process.env, env) });
    const report = formatProblemReport(problems, config.strict);
    if (report !== '') writeStderr(report);
    if (config.strict && problems.length > 0) exitCode = STRICT_EXIT_CODE;
    else if (shouldStartAgent(config, { explain: true })) state.agent = loadAgent()?.startAgent(config);
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
