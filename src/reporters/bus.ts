import type { Emit, RunEvent, RunEventMap, RunEventType } from '../model/events.js';
import { ReportCollector, type Report } from './report.js';
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
  run_end: 'onRunEnd',
} as const satisfies Record<RunEventType, keyof Reporter>;

/**
 * Fans the run's events out to reporters. It stamps each event with its type and
 * time, feeds the report collector when some reporter needs the whole report, and
 * collects the promises of `onRunEnd` so the CLI can wait for files to be written.
 */
export class EventBus {
  readonly emit: Emit;
  private readonly collector: ReportCollector | undefined;
  private readonly pending: Promise<void>[] = [];

  constructor(
    private readonly reporters: Reporter[],
    now: () => number = Date.now,
  ) {
    this.collector = reporters.some((r) => r.needsReport) ? new ReportCollector() : undefined;
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

  /** Resolves once every reporter finished its end-of-run work. */
  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }

  dispose(): void {
    for (const reporter of this.reporters) reporter.dispose?.();
  }

  private dispatch(event: RunEvent): void {
    this.collector?.add(event);
    const report: Report | undefined =
      event.type === 'run_end' ? this.collector?.build(event) : undefined;
    for (const reporter of this.reporters) {
      reporter.onEvent?.(event);
      const hook = reporter[HOOKS[event.type]] as
        ((e: RunEvent, r: Report | undefined) => void | Promise<void>) | undefined;
      const result = hook?.call(reporter, event, report);
      if (result) this.pending.push(result);
    }
  }
}
