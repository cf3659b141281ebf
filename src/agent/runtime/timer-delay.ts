/**
 * The longest delay setTimeout and Atomics.wait accept on every runtime: Node, Bun and Deno fire a
 * longer timer at once (Node and Deno with a TimeoutOverflowWarning on stderr, unprefixed).
 */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** `ms` as a delay every runtime honours: clamped to [0, MAX_TIMER_DELAY_MS]; NaN is 0. */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMER_DELAY_MS);
}
