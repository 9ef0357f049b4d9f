import type { Emit, RunEvent, RunEventMap, RunEventType } from '../model/events.js';
import { ReportCollector, type Report } from './report.js';
import type { StopNotice } from './stopping.js';
import type { Reporter } from './types.js';

const HOOKS = {
  run_start: 'onRunStart',
  job_queued: 'onJobQueued',
  job_start: 'onJobStart',
  job_output: 'onJobOutput',
  attempt_end: 'onAttemptEnd',
  job_retry: 'onJobRetry',
  job_end: 'onJobEnd',
  workers_change: 'onWorkersChange',
  run_stopping: 'onRunStopping',
  alert: 'onAlert',
  run_end: 'onRunEnd',
} as const satisfies Record<RunEventType, keyof Reporter>;

/**
 * Fans the run's events out to reporters. It stamps each event with its type and
 * time, feeds the report collector when some reporter needs the whole report, and
 * collects the promises of `onRunEnd` so the CLI can wait for files to be written.
 *
 * A reporter that throws is a bug in jobrun, not in the run: it is cut off (no more
 * events reach it), `onFailure` is told once, and every other reporter goes on, so
 * the CLI can stop the run cleanly and still write the report.
 */
export class EventBus {
  readonly emit: Emit;
  /** The first reporter failure, if any. */
  failure: Error | undefined;
  /** Called once, on the first reporter failure (from inside an emit: defer real work). */
  onFailure: ((err: Error) => void) | undefined;
  private readonly collector: ReportCollector | undefined;
  private readonly pending: Promise<void>[] = [];
  private readonly broken = new Set<Reporter>();
  /** `run_end` went out: the reporters printed their last lines. */
  private ended = false;

  /** `resume`: the command that resumes the run, for its report (see `Report.resume`). */
  constructor(
    private readonly reporters: Reporter[],
    now: () => number = Date.now,
    resume?: string,
  ) {
    this.collector = reporters.some((r) => r.needsReport) ? new ReportCollector(resume) : undefined;
    this.emit = <K extends RunEventType>(type: K, payload: RunEventMap[K]) => {
      const event = { type, time: now(), ...payload } as unknown as RunEvent<K>;
      this.dispatch(event as RunEvent);
    };
  }

  get wantsOutput(): boolean {
    return this.reporters.some((r) => r.needsOutput);
  }

  get wantsStreams(): boolean {
    return this.reporters.some((r) => r.needsStreams);
  }

  get wantsRemoteStreams(): boolean {
    return this.reporters.some((r) => r.needsStreams || r.needsRemoteStreams);
  }

  /**
   * Waits until every reporter finished its end-of-run work (files written); resolves
   * with the errors of those that could not (each names its file), never rejects.
   */
  async flush(): Promise<Error[]> {
    const settled = await Promise.allSettled(this.pending);
    return settled.flatMap((s) => (s.status === 'rejected' ? [toError(s.reason)] : []));
  }

  /**
   * Tells the reporters that show it that the run is stopping (see `stoppingLine`).
   * Not once the run ended: a signal while jobrun writes its files stops nothing, and
   * a line after the final report would read as if the run went on.
   */
  stopping(stop: Omit<StopNotice, 'running'>): void {
    if (this.ended) return;
    for (const reporter of this.reporters) {
      if (this.broken.has(reporter)) continue;
      try {
        reporter.onStopping?.(stop);
      } catch {
        // a line for people must not keep the run from stopping
      }
    }
  }

  /** Hands on an event stamped elsewhere (`jobrun watch` replays a run's events). */
  replay(event: RunEvent): void {
    this.dispatch(event);
  }

  dispose(): void {
    for (const reporter of this.reporters) {
      try {
        reporter.dispose?.();
      } catch {
        // restoring one reporter's terminal state must not keep the others from theirs
      }
    }
  }

  private dispatch(event: RunEvent): void {
    if (event.type === 'run_end') this.ended = true;
    this.collector?.add(event);
    const report: Report | undefined =
      event.type === 'run_end' ? this.collector?.build(event) : undefined;
    // an index, not an iterator: this runs for every event of every job
    const { reporters } = this;
    for (let i = 0; i < reporters.length; i++) {
      const reporter = reporters[i]!;
      if (this.broken.size > 0 && this.broken.has(reporter)) continue;
      try {
        reporter.onEvent?.(event);
        const hook = reporter[HOOKS[event.type]] as
          ((e: RunEvent, r: Report | undefined) => void | Promise<void>) | undefined;
        const result = hook?.call(reporter, event, report);
        if (result) {
          // its failure is collected by `flush`, which may be asked for only after it
          // failed: handled now, or Node would end jobrun on an unhandled rejection
          result.catch(() => {});
          this.pending.push(result);
        }
      } catch (err) {
        this.broken.add(reporter);
        if (this.failure === undefined) {
          this.failure = toError(err);
          this.onFailure?.(this.failure);
        }
      }
    }
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
