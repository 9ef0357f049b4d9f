import type { JobSpec } from '../model/job.js';
import type { Admission } from './admission.js';
import { Feeder } from './feeder.js';
import type { Pipeline } from './pipeline.js';
import type { SchedulerCore } from './scheduler-core.js';
import type { SchedulerOptions } from './scheduler-options.js';

type RunStart = Pick<SchedulerOptions, 'runId' | 'manifestPath' | 'logDir'>;

/**
 * How jobs enter a run, once `run_start` is said: a list is admitted at once (with a
 * pipeline's stages as pending entries among its jobs, so the total is known only
 * without stages); a stream is read with backpressure (`Feeder`), and a read error
 * stops the run.
 */
export class Intake {
  private readonly feeder: Feeder;

  constructor(
    private readonly core: SchedulerCore,
    private readonly admission: Admission,
    private readonly pipeline: Pipeline,
    private readonly run: RunStart,
    maxQueue: number,
  ) {
    this.feeder = new Feeder(maxQueue, () => core.queues.size);
  }

  /** Says the run started and lets `source`'s jobs in; the lifecycle hears when all are. */
  begin(source: JobSpec[] | AsyncIterable<JobSpec>): void {
    const { lifecycle, clock } = this.core;
    if (Array.isArray(source)) {
      const { specs, total } = this.pipeline.begin(source);
      this.runStart(total);
      this.admission.all(specs, clock.now());
      lifecycle.inputEnded();
      return;
    }
    this.runStart(null);
    this.feeder
      .feed(source, (spec) => this.admission.one(spec, clock.now()))
      .catch((err: unknown) => this.core.stop(lifecycle.inputFailed(err)))
      .then(() => lifecycle.inputEnded())
      .catch((err: unknown) => this.core.crash(err));
  }

  /** Room may have been made: a paused stream reads on. */
  wake(): void {
    this.feeder.wake();
  }

  /** Reads no more input. */
  stop(): void {
    this.feeder.stop();
  }

  private runStart(total: number | null): void {
    const { runId, manifestPath, logDir } = this.run;
    const { workers, remote } = this.core.dispatch;
    this.core.emit('run_start', {
      runId,
      manifestPath,
      total,
      workers,
      logDir,
      ...(remote && { remote: true as const }),
    });
  }
}
