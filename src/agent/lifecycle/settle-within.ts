import { timerDelay } from '../runtime/timer-delay.ts';

/** Waits for `work` at most `timeoutMs`; resolves false on timeout. The timer never holds the process open. */
export function settleWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timerDelay(timeoutMs));
    timer.unref?.();
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
