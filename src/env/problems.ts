/** Configuration problems and the one way they are put into words. */

export interface ConfigProblem {
  readonly variable: string;
  /** The value as given, secrets already hidden. */
  readonly value: string;
  /** What is wrong, worded to follow the value: "is not a whole number". */
  readonly issue: string;
  /** What the variable accepts. */
  readonly accepted: string;
  /** What the agent uses instead: "the default 5000". */
  readonly using: string;
}

export const MESSAGE_PREFIX = 'rpcplugin-telemetry:';

/** Exit code in strict mode: EX_CONFIG from sysexits.h. */
export const STRICT_EXIT_CODE = 78;

export function describeProblem({ variable, value, issue, accepted, using }: ConfigProblem): string {
  return `${variable}=${JSON.stringify(value)} ${issue}. Accepted: ${accepted}. Using ${using}.`;
}

/**
 * The one report of a start: every problem on its own prefixed line, ready for a single write to
 * stderr. Empty when there is nothing to say.
 */
export function formatProblemReport(problems: readonly ConfigProblem[], strict: boolean): string {
  if (problems.length === 0) return '';
  const lines = problems.map((problem) => `${MESSAGE_PREFIX} ${describeProblem(problem)}`);
  if (strict) {
    const count = problems.length === 1 ? '1 configuration problem' : `${problems.length} configuration problems`;
    lines.push(`${MESSAGE_PREFIX} RPCPLUGIN_STRICT=true: exiting with code ${STRICT_EXIT_CODE} because of ${count}.`);
  }
  return `${lines.join('\n')}\n`;
}
