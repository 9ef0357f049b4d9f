import { killLiveGroups } from '../exec/kill.js';
import { removePendingTemps } from '../reporters/atomic.js';
import type { StopSignal } from '../model/stop.js';
import { writeWhole } from './whole-writes.js';

/**
 * Every way a run can be ended from outside goes through one path: SIGINT, SIGTERM,
 * SIGHUP (terminal or ssh gone), SIGQUIT, and EPIPE on stdout or stderr (the reader
 * of `jobrun … | head` went away, reported as SIGPIPE) all call the run's stop
 * function, which stops the jobs (TERM, KILL after the grace) and lets the run
 * write its report and journal. A second *signal* skips the grace; a broken pipe
 * after a stop is only the same event seen again, not a second request.
 *
 * Unplanned deaths are covered by `installProcessGuards`: whatever ends the process,
 * the `exit` hook SIGKILLs every job group still alive and removes half-written
 * report files, so no job outlives jobrun.
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

let stopRun: ((signal: StopSignal) => void) | undefined;
/** The first error writing jobrun's own stdout or stderr that was not a reader going away. */
let writeError: string | undefined;
let firstStop: StopSignal | undefined;
let reraise: StopSignal | undefined;
const exitHooks = new Set<() => void>();

/**
 * Installed once, first thing: stdout/stderr errors never become a trace, and the
 * process never exits with a job group alive. Outside a run (help, `--dry-run`,
 * `validate`) a broken pipe just ends jobrun quietly with 141.
 */
export function installProcessGuards(): void {
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    writeWhole(stream); // a file's short write is an error too, not bytes lost quietly
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // EPIPE: the reader left. ENOSPC, EIO and the like are the disk's or the
      // terminal's trouble: the run goes on, and ends with exit 1 saying so.
      if (err.code !== 'EPIPE') {
        writeError ??= `cannot write jobrun's ${name}: ${err.code ?? err.message}`;
        if (stopRun === undefined) process.exitCode = 1;
        return;
      }
      if (stopRun === undefined) {
        process.exit(141);
      } else if (firstStop === undefined) {
        firstStop = 'SIGPIPE';
        stopRun('SIGPIPE');
      }
    });
  }
  process.on('exit', cleanUp);
}

/** SIGKILL to live job groups, the exit hooks, half-written reports away. Synchronous. */
function cleanUp(): void {
  killLiveGroups();
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // one cleanup failing must not keep the next from running
    }
  }
  exitHooks.clear();
  removePendingTemps();
}

/** The first error writing stdout or stderr other than EPIPE (a full disk: ENOSPC), if any. */
export function outputWriteError(): string | undefined {
  return writeError;
}

/** Whether stdout or stderr broke (EPIPE) during the last run, even after its jobs ended. */
export function pipeBroke(): boolean {
  return firstStop === 'SIGPIPE';
}

/** Runs `hook` when the process exits, however it exits (not after SIGKILL, nothing can). */
export function onExit(hook: () => void): () => void {
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

/** Routes every stop signal to `stop` until the returned function is called. */
export function handleStops(stop: (signal: StopSignal) => void): () => void {
  firstStop = undefined;
  stopRun = stop;
  const handlers = SIGNALS.map((signal) => {
    const handler = () => {
      firstStop ??= signal;
      stop(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    stopRun = undefined;
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Asks `finishExit` to die of `signal` once everything is written. */
export function reraiseOnExit(signal: StopSignal): void {
  reraise = signal;
}

/**
 * The last thing jobrun does. After an interrupt, it dies of the same signal, so a
 * calling shell sees a death by signal (a `for` loop stops on Ctrl-C) with `$?` still
 * 128+n. Not for SIGPIPE (Node ignores it; the exit status 141 says the same) nor
 * SIGQUIT (its default action dumps core).
 */
export function finishExit(): void {
  const signal = reraise;
  if (signal === undefined || signal === 'SIGPIPE' || signal === 'SIGQUIT') return;
  cleanUp();
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}
