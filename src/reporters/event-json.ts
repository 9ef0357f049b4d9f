/**
 * The events as `--events` writes them, in the report's vocabulary: the same field
 * names (`manifest`, `log`, `startedAt`, `durationMs`) and time formats (ISO strings
 * plus `durationMs`) as `--json`/`--report` and `--results` meta, so one `jq` filter
 * reads all three. `job_end.job` is exactly a report job; `attempt_end.result` a report
 * attempt (with the attempt's captured result, when it has one).
 */
import type { RunEvent } from '../model/events.js';
import { reportAttempt, reportJob } from './report.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** One event as its NDJSON line carries it. */
export function eventJson(event: RunEvent): Record<string, unknown> {
  const time = iso(event.time);
  switch (event.type) {
    case 'run_start': {
      const { manifestPath, ...rest } = event;
      return { ...rest, time, manifest: manifestPath };
    }
    case 'job_end':
      return { type: event.type, time, job: reportJob(event.job) };
    case 'attempt_end': {
      const { result } = event;
      return {
        ...event,
        time,
        result: {
          ...reportAttempt(result),
          result: result.result,
          resultTruncated: result.resultTruncated,
        },
      };
    }
    default:
      return { ...event, time };
  }
}
