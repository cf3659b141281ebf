import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MESSAGE_PREFIX } from '../../env/index.ts';
import { isPermitted } from '../runtime/runtime.ts';
import { writeStderr } from '../runtime/stderr.ts';

export type AgentModule = typeof import('../sdk/start.ts');

/**
 * dist/agent.cjs, beside the bundle this code is in (the preload or the public API), loaded
 * synchronously so the SDK is up before user code; undefined, with one warning, when the runtime
 * may not read it (Deno without --allow-read).
 */
export function loadAgent(): AgentModule | undefined {
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  if (!isPermitted({ name: 'read', path: dirname(here) })) {
    writeStderr(
      `${MESSAGE_PREFIX} Deno does not allow reading ${dirname(here)}, where the agent is; telemetry is off. Run with --allow-read (or -A).\n`,
    );
    return undefined;
  }
  return createRequire(here)('./agent.cjs') as AgentModule;
}
