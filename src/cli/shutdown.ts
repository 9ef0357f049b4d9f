import { killLiveGroups } from '../exec/kill.js';
import { removePendingTemps } from '../reporters/atomic.js';
import { STOP_EXIT_CODES, type StopSignal } from '../model/stop.js';
import { heldStop, holdStops, onStops, STOP_SIGNALS, unhold } from './early-stops.js';
import { writeWhole } from './whole-writes.js';

/**
 * Every way a run can be ended from outside goes through one path: SIGINT, SIGTERM,
 * SIGHUP (terminal or ssh gone), SIGQUIT, and EPIPE on stdout or stderr (the reader
 * of `jobrun … | head` went away, reported as SIGPIPE) all call the run's stop
 * function, which stops the jobs (TERM, KILL after the grace) and lets the run
 * write its report and journal. A second *signal* skips the grace; a broken pipe
 * after a stop is only the same event seen again, not a second request.
 *
 * Until a run can stop, the signals are held (`early-stops.ts`, from jobrun's first line
 * on): the first waits for the run to start, which then stops at once with its reports
 * written (every job cancelled), or, if no run comes, ends jobrun saying nothing ran.
 * Without the hold a signal while jobrun loads, reads the manifest or opens the backend
 * killed it by default, with no report.
 *
 * Unplanned deaths are covered by `installProcessGuards`: whatever ends the process,
 * the `exit` hook SIGKILLs every job group still alive and removes half-written
 * report files, so no job outlives jobrun.
 */

let stopRun: ((signal: StopSignal) => void) | undefined;
/** The first error writing jobrun's own stdout or stderr that was not a reader going away. */
let writeError: string | undefined;
let firstStop: StopSignal | undefined;
let reraise: StopSignal | undefined;
const exitHooks = new Set<() => void>();
const writeErrorHooks = new Set<(error: string) => void>();

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
        for (const hook of writeErrorHooks) hook(writeError);
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

/**
 * Calls `hook` at each error writing stdout or stderr other than EPIPE, with the first
 * one's text: a command that only prints (`watch`) stops there rather than printing on
 * into a full disk until its run ends. Returns the function that removes it.
 */
export function onOutputWriteError(hook: (error: string) => void): () => void {
  writeErrorHooks.add(hook);
  return () => writeErrorHooks.delete(hook);
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

/**
 * Routes every stop signal to `stop` until the returned function is called. A signal
 * held before (`heldStop`) counts as the first: the caller applies it once its run began.
 * Called with the run's exit code, the function leaves quiet handlers in place: until
 * jobrun exits, a signal must not kill it by default (a death by SIGINT after a report
 * that says exit 1); a first one says nothing, a second ends jobrun with that code.
 */
export function handleStops(stop: (signal: StopSignal) => void): (code?: number) => void {
  stopRun = stop;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      firstStop ??= signal;
      stop(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  // installed before the hold goes: a signal with no listener would kill jobrun by default
  firstStop = unhold();
  return (code) => {
    stopRun = undefined;
    if (code !== undefined) {
      // on before the run's go: a signal with no listener between would kill jobrun
      let late = 0;
      const quiet = () => {
        if (late++ > 0) process.exit(code);
      };
      for (const signal of STOP_SIGNALS) process.on(signal, quiet);
    }
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/**
 * Runs `command` (`run`, `retry`) with the stop signals held until its run handles them
 * (`handleStops`). A second signal ends jobrun at once. If the command ends without a
 * run (a dry run, a manifest error), a held signal ends jobrun then, saying nothing ran.
 */
export async function holdingStops(command: () => Promise<number>): Promise<number> {
  holdStops(); // a no-op when the bin holds them already, from its first line
  // the run may take a while to start (a manifest on stdin, a Redis to reach): say so
  const held = (signal: StopSignal) =>
    process.stderr.write(
      `jobrun: ${signal}: the run stops as soon as it has started (${signal} again: at once)\n`,
    );
  onStops({
    first: held,
    second: (signal) => {
      process.stderr.write(
        `jobrun: ${signal} again before the run started: stopped at once; nothing ran, no report was written\n`,
      );
      endNow(signal);
    },
  });
  const early = heldStop();
  if (early !== undefined) held(early);
  try {
    const code = await command();
    return endHold() ?? code;
  } catch (err) {
    endHold();
    throw err;
  }
}

/** Ends the hold; a signal still held came before any run: jobrun dies of it, saying so. */
function endHold(): number | undefined {
  const signal = unhold();
  if (signal === undefined) return undefined;
  process.stderr.write(
    `jobrun: interrupted by ${signal} before the run started: nothing ran, no report was written\n`,
  );
  reraiseOnExit(signal);
  return STOP_EXIT_CODES[signal];
}

/**
 * Outside `run` and `retry` (help, validate, a worker) a held signal does what it would
 * have done unheld: jobrun dies of it.
 */
export function releaseStops(): void {
  const signal = unhold();
  if (signal !== undefined) endNow(signal);
}

/** Ends jobrun now, of `signal`: exit hooks run, half-written reports go. */
export function endNow(signal: StopSignal): never {
  reraise = signal;
  finishExit();
  process.exit(STOP_EXIT_CODES[signal]);
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
