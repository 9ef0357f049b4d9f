/**
 * Stop signals held from jobrun's first line of code. Loading jobrun takes a noticeable
 * time on a busy machine (a quarter second), and a signal with no listener kills the
 * process by default: a Ctrl-C while a run starts would leave no report and say nothing.
 * So bin/jobrun.js loads this module, on its own and before the rest, and holds the
 * signals: `shutdown.ts` hands the first one to the run once it began, or ends jobrun
 * with it when no run comes. A second one ends jobrun at once. No imports: it is loaded
 * before anything else.
 */

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
type Signal = (typeof STOP_SIGNALS)[number];

let held: Signal | undefined;
let holding: (readonly [Signal, () => void])[] | undefined;
/** What the first signal does besides being held (say so), and what a second does. */
let first: ((signal: Signal) => void) | undefined;
let second = (signal: Signal): void => {
  unhold();
  // SIGQUIT's default dumps core: 131 says the same without one, as shutdown.ts does
  if (signal === 'SIGQUIT') process.exit(131);
  process.kill(process.pid, signal); // no listener now: the default, death by the signal
};

/** Starts holding the stop signals; a no-op while they are held already. */
export function holdStops(): void {
  if (holding) return;
  held = undefined;
  holding = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (held !== undefined) return second(signal);
      held = signal;
      first?.(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
}

/** The first signal that came while held, if one did. */
export function heldStop(): Signal | undefined {
  return held;
}

/** Stops holding; returns the signal held, if any, for the caller to act on. */
export function unhold(): Signal | undefined {
  for (const [signal, handler] of holding ?? []) process.off(signal, handler);
  holding = undefined;
  const signal = held;
  held = undefined;
  return signal;
}

/**
 * Sets what the first signal does besides being held (it was held already if one came)
 * and what a second does (it must end jobrun); `shutdown.ts` sets both once loaded.
 */
export function onStops(then: {
  first: (signal: Signal) => void;
  second: (signal: Signal) => void;
}): void {
  first = then.first;
  second = then.second;
}
