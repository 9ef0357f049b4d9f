import type { RunEvent } from '../../model/events.js';
import type { FinalStatus } from '../../model/job.js';
import { STOP_EXIT_CODES, type StopSignal } from '../../model/stop.js';
import type { RunSnapshot } from '../../control/run-state.js';
import { ControlError } from '../../errors.js';
import { EventBus } from '../../reporters/bus.js';
import { pickReporters } from '../../reporters/pick.js';
import type { ProgressMode } from '../../reporters/settings.js';
import type { Reporter } from '../../reporters/types.js';
import type { ReachValues } from '../flags/operate-flags.js';
import { handleStops, onOutputWriteError, reraiseOnExit } from '../shutdown.js';
import { watchSource } from './watch-source.js';

interface CatchingUp extends Reporter {
  catchUp?(done: Record<FinalStatus, number>): void;
}

/**
 * `jobrun watch [RUN]`: the run's live view (plain lines when stderr is no terminal,
 * NDJSON events with `--json`) from its current state on, until it ends; exits with
 * its exit code. Ctrl-C ends only the watching. The run is here, or with `--backend`
 * on the Redis it runs on: both give the same messages to the same reporters.
 */
export async function watchCommand(
  arg: string | undefined,
  options: { progress: ProgressMode; json: boolean } & ReachValues,
): Promise<number> {
  const run = await watchSource(arg, options);
  // the run's own view, without its job output (that is the run's, or `jobrun logs`)
  const reporters: CatchingUp[] = pickReporters(
    {
      json: false,
      events: options.json,
      report: undefined,
      junit: undefined,
      html: undefined,
      results: undefined,
      output: 'none',
      keepOrder: false,
      tag: false,
      progress: options.progress,
      bar: false,
      eta: false,
      summary: 'table',
    },
    { adHoc: false, manifestOutput: undefined, resumeCommand: undefined, killGraceMs: 0 },
  );
  const bus = new EventBus(reporters);
  let exitCode: number | undefined;
  let stoppedBy: StopSignal | undefined;
  let hangUp: (() => void) | undefined;
  // a reader gone (`watch --json | head -1`, seen at the next write) ends the watching
  // with 141 as it does `jobrun run`: not a run that went away without an exit code
  const stopHandling = handleStops((signal) => {
    stoppedBy = signal;
    hangUp?.();
  });
  // a full disk (ENOSPC) under `watch > file` ends the watching too: nothing it
  // prints from then on arrives, and the run may go on for hours
  let lost: string | undefined;
  const stopOnLostOutput = onOutputWriteError((error) => {
    lost ??= error;
    hangUp?.();
  });
  try {
    await run.follow((message, close) => {
      hangUp = close;
      if ('snapshot' in message) catchUp(bus, reporters, message.snapshot as RunSnapshot);
      else if ('event' in message) bus.replay(message.event as RunEvent);
      else if (typeof message.exitCode === 'number') exitCode = message.exitCode;
      return true;
    });
    await bus.flush();
  } finally {
    stopHandling();
    stopOnLostOutput();
    bus.dispose();
    run.close();
  }
  if (stoppedBy !== undefined) {
    reraiseOnExit(stoppedBy);
    return STOP_EXIT_CODES[stoppedBy];
  }
  if (lost !== undefined && exitCode === undefined)
    throw new ControlError(`stopped watching run ${run.runId} (it goes on): ${lost}`);
  if (exitCode === undefined)
    throw new ControlError(`run ${run.runId} went away without saying how it ended (killed?)`);
  return exitCode;
}

/** Brings fresh reporters to where the run is: started, these waiting and running, these done. */
function catchUp(bus: EventBus, reporters: CatchingUp[], s: RunSnapshot): void {
  const { runId, manifestPath, total, workers, logDir, remote } = s;
  bus.replay({
    type: 'run_start',
    time: s.startedAt,
    runId,
    manifestPath,
    total,
    workers,
    logDir,
    ...(remote && { remote }),
  });
  for (const r of reporters) r.catchUp?.(s.done);
  const now = Date.now();
  for (const { id, name } of s.queued)
    bus.replay({ type: 'job_queued', time: now, id, name, priority: 0 });
  // a job waiting out its backoff is shown as such: it is queued only once the wait ends
  for (const { id, name, nextAttempt, dueAt } of s.retrying) {
    if (nextAttempt === undefined || dueAt === undefined)
      bus.replay({ type: 'job_queued', time: now, id, name, priority: 0 });
    else {
      const delayMs = Math.max(0, dueAt - now);
      bus.replay({ type: 'job_retry', time: now, id, name, nextAttempt, delayMs });
    }
  }
  for (const { id, name, since, attempt, worker } of s.running)
    bus.replay({ type: 'job_start', time: since, id, name, attempt, worker });
  if (s.stopping !== undefined)
    bus.replay({ type: 'run_stopping', time: now, reason: s.stopping, running: s.running.length });
}
