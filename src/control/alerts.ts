import type { AlertsSpec } from '../model/alerts.js';
import type { RunEvent, RunEventMap } from '../model/events.js';
import type { Reporter } from '../reporters/types.js';

type AlertName = 'queue_depth' | 'failure_rate' | 'stalled';

/** What the watcher does when an alert fires or clears. */
export interface AlertSink {
  emit(payload: RunEventMap['alert']): void;
  /** Runs `alerts.run` for an alert that fired. */
  run(payload: RunEventMap['alert']): void;
}

/**
 * Watches the run's events for the alerts of `alerts:`: jobs waiting above a depth
 * for a while, a failure rate over the last jobs, no job ending for a while. Each
 * alert fires once per episode (an `alert` event, and `alerts.run`) and says when it
 * clears; it never changes the run. Its timers do not keep jobrun alive.
 */
export class AlertWatcher implements Reporter {
  private readonly active = new Set<AlertName>();
  private waiting = new Set<string>();
  private running = 0;
  private deepSince: number | undefined;
  private deepTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly recent: boolean[] = [];
  private over = false;

  constructor(
    private readonly spec: AlertsSpec,
    private readonly sink: AlertSink,
    private readonly now: () => number = Date.now,
  ) {}

  onEvent(e: RunEvent): void {
    if (this.over) return;
    switch (e.type) {
      case 'run_start':
        this.watchStall();
        return;
      case 'job_queued':
      case 'job_retry':
        this.waiting.add(e.id);
        break;
      case 'job_start':
        this.waiting.delete(e.id);
        this.running++;
        break;
      case 'attempt_end':
        this.running--;
        break;
      case 'job_end':
        this.waiting.delete(e.job.id);
        this.jobEnded(e.job);
        break;
      case 'run_end':
        this.dispose();
        return;
      default:
        return;
    }
    this.checkDepth();
  }

  dispose(): void {
    this.over = true;
    clearTimeout(this.deepTimer);
    clearTimeout(this.stallTimer);
    this.waiting = new Set();
  }

  private checkDepth(): void {
    const rule = this.spec.queueDepth;
    if (!rule) return;
    const depth = this.waiting.size;
    if (depth <= rule.above) {
      this.deepSince = undefined;
      clearTimeout(this.deepTimer);
      this.deepTimer = undefined;
      this.set('queue_depth', false, depth, `${waitingJobs(depth)} (limit ${rule.above})`);
      return;
    }
    if (this.deepSince !== undefined) return;
    this.deepSince = this.now();
    const fire = () => {
      const held = this.waiting.size;
      if (held > rule.above)
        this.set(
          'queue_depth',
          true,
          held,
          `${waitingJobs(held)}, above ${rule.above} for ${rule.forMs / 1000}s`,
        );
    };
    if (rule.forMs === 0) fire();
    else this.deepTimer = setTimeout(fire, rule.forMs).unref();
  }

  private jobEnded(job: RunEvent<'job_end'>['job']): void {
    this.watchStall();
    this.set('stalled', false, 0, 'a job ended again');
    const rule = this.spec.failureRate;
    if (!rule || job.attempts.length === 0 || job.excluded) return; // it never ran
    const failed = (job.status === 'failed' || job.status === 'timed_out') && !job.allowFailure;
    this.recent.push(failed);
    if (this.recent.length > rule.last) this.recent.shift();
    const failures = this.recent.filter(Boolean).length;
    const rate = (failures / this.recent.length) * 100;
    const what = `${failures} of the last ${this.recent.length} jobs failed (${Math.round(rate)}%, limit ${rule.abovePercent}%)`;
    this.set('failure_rate', rate > rule.abovePercent, Math.round(rate * 10) / 10, what);
  }

  private watchStall(): void {
    const ms = this.spec.stalledMs;
    if (ms === undefined) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      if (this.running + this.waiting.size === 0) return this.watchStall();
      const message = `no job ended for ${ms / 1000}s (${this.running} running, ${this.waiting.size} waiting)`;
      this.set('stalled', true, ms / 1000, message);
    }, ms).unref();
  }

  /** Fires an alert that was not active, clears one that was; else nothing. */
  private set(alert: AlertName, on: boolean, value: number, message: string): void {
    if (on === this.active.has(alert)) return;
    if (on) this.active.add(alert);
    else this.active.delete(alert);
    const payload = { alert, value, message, cleared: !on };
    this.sink.emit(payload);
    if (on) this.sink.run(payload);
  }
}

function waitingJobs(n: number): string {
  return `${n} job${n === 1 ? '' : 's'} waiting`;
}
