import { AlertWatcher } from '../../control/alerts.js';
import { RunControl } from '../../control/attach.js';
import { runHook } from '../../control/hooks.js';
import { RunMetrics } from '../../control/run-metrics.js';
import type { RedisTarget } from '../../backends/redis-url.js';
import type { RunControls } from '../../core/steering.js';
import type { HooksSpec } from '../../model/alerts.js';
import type { Emit, RunEventMap, Summary } from '../../model/events.js';
import type { Reporter } from '../../reporters/types.js';

export interface OperateSettings {
  hooks: HooksSpec;
  metrics?: { host: string; port: number };
  /** `--report`, for `on_end`'s JOBRUN_REPORT. */
  report?: string;
  warn(message: string): void;
}

/**
 * Everything that lets a run be operated while it runs, wired in one place: the
 * control socket, the metrics endpoint, alerts and the `on_end` command. `reporters`
 * join the run's event bus; `open` once the run exists, `close` once it ended.
 */
export class RunOperations {
  readonly reporters: Reporter[] = [];
  private readonly control = new RunControl();
  private readonly metrics: RunMetrics | undefined;
  private closeMetrics: (() => Promise<void>) | undefined;
  private runId = '';

  constructor(
    private readonly settings: OperateSettings,
    emit: () => Emit,
  ) {
    this.reporters.push(this.control);
    if (settings.metrics) this.reporters.push((this.metrics = new RunMetrics()));
    const { alerts } = settings.hooks;
    if (alerts && (alerts.queueDepth || alerts.failureRate || alerts.stalledMs !== undefined)) {
      const sink = {
        emit: (payload: RunEventMap['alert']) => emit()('alert', payload),
        run: (payload: { alert: string; value: number }) => {
          if (alerts.run === undefined) return;
          const vars = {
            JOBRUN_ALERT: payload.alert,
            JOBRUN_ALERT_VALUE: String(payload.value),
            JOBRUN_RUN_ID: this.runId,
          };
          void runHook(alerts.run, vars).then((code) => {
            if (code !== 0) settings.warn(`alerts.run ${describe(code)}`);
          });
        },
      };
      this.reporters.push(new AlertWatcher(alerts, sink));
    }
  }

  /**
   * Makes the run reachable (on Redis, also through `redis`); a part that cannot open
   * costs only itself, with a warning.
   */
  async open(
    runId: string,
    what: string,
    controls: () => RunControls | undefined,
    redis?: RedisTarget,
  ): Promise<void> {
    this.runId = runId;
    const { warn, metrics } = this.settings;
    const why = await this.control.open(runId, what, controls);
    if (why !== undefined)
      warn(`${why}; the run goes on, but jobrun ps/watch/scale cannot reach it`);
    const viaRedis = redis && (await this.control.openRedis(redis, runId, what, controls));
    if (viaRedis)
      warn(`${viaRedis}; the run goes on, but jobrun ps --backend … cannot reach it through Redis`);
    if (metrics && this.metrics) {
      try {
        const served = await this.metrics.serve(metrics.host, metrics.port);
        this.closeMetrics = served.close;
        warn(`metrics on ${served.url}/metrics`);
      } catch (err) {
        warn(`cannot serve metrics on port ${metrics.port}: ${(err as Error).message}`);
      }
    }
  }

  /** Removes the registry entry; synchronous, for the exit hook. */
  removeEntry(): void {
    this.control.remove();
  }

  /** Tells watchers the exit code, stops serving, then runs `on_end` and waits for it. */
  async close(exitCode: number, summary: Summary | undefined): Promise<void> {
    await this.control.close(exitCode);
    await this.closeMetrics?.();
    const { onEnd } = this.settings.hooks;
    if (onEnd === undefined) return;
    const counts = Object.fromEntries(
      Object.entries(summary ?? {}).map(([k, v]) => [`JOBRUN_${k.toUpperCase()}`, String(v)]),
    );
    const code = await runHook(onEnd, {
      ...counts,
      JOBRUN_EXIT_CODE: String(exitCode),
      JOBRUN_REPORT: this.settings.report ?? '',
      JOBRUN_RUN_ID: this.runId,
    });
    if (code !== 0) this.settings.warn(`on_end ${describe(code)}`);
  }
}

function describe(code: number | string): string {
  return typeof code === 'number' ? `exited ${code}` : `failed: ${code}`;
}
