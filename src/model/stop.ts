/**
 * What can stop a run from outside, named as signals. `SIGPIPE` stands for a write
 * to stdout or stderr failing with EPIPE: the reader went away (`jobrun … | head`).
 */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' | 'SIGPIPE';

/** The exit status a shell expects of a process that died of the signal: 128 + its number. */
export const STOP_EXIT_CODES: Readonly<Record<StopSignal, number>> = {
  SIGHUP: 129,
  SIGINT: 130,
  SIGQUIT: 131,
  SIGPIPE: 141,
  SIGTERM: 143,
};
