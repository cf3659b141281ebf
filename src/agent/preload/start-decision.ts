/**
 * Whether the agent starts its SDK for a configuration: one decision for the preload (main thread)
 * and for startInWorker(), so a worker never starts what the main thread stood aside from.
 */
import { type Config, MESSAGE_PREFIX } from '../../env/index.ts';
import { detectRuntime } from '../runtime/runtime.ts';
import { writeStderr } from '../runtime/stderr.ts';

export interface StartDecisionOptions {
  /** Say why the agent stands aside (once per process: the main thread says it, workers do not). */
  readonly explain: boolean;
}

export function shouldStartAgent(config: Config, { explain }: StartDecisionOptions): boolean {
  if (!config.enabled) return false;
  if (deferToDenoTelemetry(config)) {
    if (explain) {
      writeStderr(
        `${MESSAGE_PREFIX} OTEL_DENO=true: Deno's built-in OpenTelemetry exports traces, metrics and logs; the agent does not start its own SDK.\n`,
      );
    }
    return false;
  }
  return true;
}

/**
 * Deno's built-in OpenTelemetry (OTEL_DENO=true) registers the API globals before any preload runs,
 * so a second SDK could not register and would export nothing: Deno keeps export.
 */
function deferToDenoTelemetry(config: Config): boolean {
  return config.denoBuiltinTelemetry && detectRuntime().name === 'deno';
}
