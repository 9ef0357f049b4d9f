/** Node's timers overflow above this many ms (about 24.8 days) and fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** Cancels a timer made by {@link startTimer}; safe to call more than once. */
export type CancelTimer = () => void;

/**
 * `setTimeout` that also works for delays beyond Node's 24.8-day limit (a
 * `timeout: 1000h` must not fire after 1 ms). The timer is not unref'd: a
 * running job's timeout keeps the process alive, as it must.
 */
export function startTimer(fn: () => void, ms: number): CancelTimer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const arm = (remaining: number): void => {
    const step = Math.min(Math.max(remaining, 0), MAX_TIMER_MS);
    handle = setTimeout(() => {
      if (remaining > step) arm(remaining - step);
      else {
        handle = undefined;
        fn();
      }
    }, step);
  };
  arm(ms);
  return () => {
    if (handle !== undefined) clearTimeout(handle);
    handle = undefined;
  };
}
