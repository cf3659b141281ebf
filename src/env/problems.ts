/** Configuration problems and the one way they are put into words. */
import { printable, printableExcerpt, quoteExcerpt } from './printable.ts';

export interface ConfigProblem {
  readonly variable: string;
  /** The value as given, secrets already hidden; undefined when the runtime would not give it. */
  readonly value: string | undefined;
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

/** Longest value a message quotes whole, and longest "Using …" it shows whole (escapes count). */
export const QUOTED_VALUE_LIMIT = 200;
/** The report's size, beyond which problems are counted instead of shown. */
export const REPORT_LIMIT = 16 * 1024;

/**
 * One problem in one line: the value quoted (cut when long, every control or invisible character
 * escaped), what is wrong with it, what is accepted and what is used instead.
 */
export function describeProblem({ variable, value, issue, accepted, using }: ConfigProblem): string {
  // issue and accepted are our own words, of bounded length, quoting any entry with quote(); printable()
  // keeps them one line even for a ConfigProblem made elsewhere.
  const what = value === undefined ? variable : `${variable}=${quoteExcerpt(value, QUOTED_VALUE_LIMIT)}`;
  return `${what} ${printable(issue)}. Accepted: ${printable(accepted)}. Using ${printableExcerpt(using, QUOTED_VALUE_LIMIT)}.`;
}

/**
 * The one report of a start: every problem on its own prefixed line, ready for a single write to
 * stderr. Empty when there is nothing to say. Past REPORT_LIMIT the remaining problems are counted,
 * not shown, so the report stays small whatever the environment holds.
 */
export function formatProblemReport(problems: readonly ConfigProblem[], strict: boolean): string {
  if (problems.length === 0) return '';
  const lines: string[] = [];
  let size = 0;
  for (const problem of problems) {
    const line = `${MESSAGE_PREFIX} ${describeProblem(problem)}`;
    size += line.length + 1;
    if (size > REPORT_LIMIT) break;
    lines.push(line);
  }
  const left = problems.length - lines.length;
  if (left > 0) {
    const more = left === 1 ? '1 more configuration problem is' : `${left} more configuration problems are`;
    lines.push(`${MESSAGE_PREFIX} ${more} not shown; \`rpcplugin-telemetry env\` lists them all.`);
  }
  if (strict) {
    const count = problems.length === 1 ? '1 configuration problem' : `${problems.length} configuration problems`;
    lines.push(`${MESSAGE_PREFIX} RPCPLUGIN_STRICT=true: exiting with code ${STRICT_EXIT_CODE} because of ${count}.`);
  }
  return `${lines.join('\n')}\n`;
}
