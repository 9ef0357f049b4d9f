import { writeFileAtomic } from './atomic.js';
import type { RunEvent } from '../model/events.js';
import type { Report } from './report.js';
import type { Reporter } from './types.js';
import { eventJson } from './event-json.js';

/** `--json`: the whole report as one JSON document on stdout, and nothing else there. */
export class JsonReporter implements Reporter {
  readonly needsReport = true;
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  onRunEnd(_e: RunEvent<'run_end'>, report: Report | undefined): Promise<void> {
    return new Promise((resolve) =>
      this.out.write(JSON.stringify(report, null, 2) + '\n', () => resolve()),
    );
  }
}

/** `--report FILE`: the same document written to a file (whole, or not at all). */
export class ReportFileReporter implements Reporter {
  readonly needsReport = true;
  constructor(private readonly file: string) {}

  async onRunEnd(_e: RunEvent<'run_end'>, report: Report | undefined): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(report, null, 2) + '\n');
  }
}

/**
 * `--events`: every event as one NDJSON line on stdout while the run goes, in the
 * report's vocabulary (`event-json.ts`; its JSON Schema: `jobrun schema --events`).
 */
export class EventsReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  onEvent(event: RunEvent): void {
    this.out.write(JSON.stringify(eventJson(event)) + '\n');
  }
}
