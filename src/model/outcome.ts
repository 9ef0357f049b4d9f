/**
 * How an attempt ended, in words: the one wording of this fact, used by every
 * reporter and backend, so a log line, the summary table, JUnit and the HTML page
 * never disagree.
 */

/** As much of an attempt's end as every report keeps. */
export interface AttemptEnd {
  exitCode?: number;
  signal?: string;
  timedOut?: boolean;
  /** Why the attempt has no exit: it never started, was lost or withdrawn, ... */
  error?: string;
}

/** `text` reads in a sentence (`exit 3`, `killed by SIGKILL`); `short` fits a column (`3`, `SIGKILL`). */
export interface Ending {
  text: string;
  short: string;
}

export function attemptEnding(a: AttemptEnd): Ending {
  if (a.error !== undefined) {
    // the error says what happened ("lost: …", "no worker confirmed the stop"),
    // its head is the column
    return { text: a.error, short: a.error.split(':')[0] ?? a.error };
  }
  if (a.timedOut) {
    const by = a.signal ? ` (${a.signal})` : '';
    return { text: `timed out${by}`, short: `timeout${by}` };
  }
  if (a.signal) return { text: `killed by ${a.signal}`, short: a.signal };
  if (a.exitCode !== undefined) return { text: `exit ${a.exitCode}`, short: String(a.exitCode) };
  return { text: 'no exit status', short: '–' };
}

/**
 * How a job ended: its last attempt's ending (with the exit code and signal the
 * record copies from it), or why it never ran.
 */
export function jobEnding(
  job: { status: string; reason?: string; attempts: AttemptEnd[] } & AttemptEnd,
): Ending {
  const last = job.attempts.at(-1);
  if (!last) return { text: job.reason ?? job.status, short: '–' };
  const { error, timedOut } = last;
  const exitCode = job.exitCode ?? last.exitCode;
  return attemptEnding({ error, timedOut, exitCode, signal: job.signal ?? last.signal });
}
