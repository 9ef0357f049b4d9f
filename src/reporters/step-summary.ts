import { appendFile } from 'node:fs/promises';
import { stripVTControlCharacters } from 'node:util';
import type { JobRecord, RunEvent } from '../model/events.js';
import { jobEnding } from '../model/outcome.js';
import { formatDuration, painter, statusCounts, STATUS_ICON } from './format.js';
import { SummaryTable } from './summary.js';
import { clean, cleanOutput } from './text.js';
import type { Reporter } from './types.js';

const plain = painter(false);

/** A name or an ending as one Markdown table cell: no pipes, newlines or controls. */
function cell(text: string): string {
  return clean(text).replace(/[\\|`*_<>[\]]/g, (c) => `\\${c}`);
}

/** A block of output that no backtick run inside it can close. */
function fence(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}text\n${text.replace(/\n$/, '')}\n${ticks}`;
}

/**
 * Under GitHub Actions, the run's summary as Markdown appended to `$GITHUB_STEP_SUMMARY`
 * (shown on the workflow run's page): the counts, the table of jobs (the same selection
 * as the terminal's table: every job of a small run, else the failed and slowest), and
 * each failed job's last lines of output, folded.
 */
export class StepSummaryReporter implements Reporter {
  private readonly table = new SummaryTable();

  constructor(private readonly path: string) {}

  onJobEnd(e: RunEvent<'job_end'>): void {
    this.table.add(e.job);
  }

  async onRunEnd(e: RunEvent<'run_end'>): Promise<void> {
    await appendFile(this.path, this.markdown(e));
  }

  markdown(e: RunEvent<'run_end'>): string {
    const s = e.summary;
    const why = e.interrupted ? ` (interrupted by ${e.interrupted})` : '';
    const head = `### jobrun: ${s.total} job${s.total === 1 ? '' : 's'}: ${statusCounts(s, plain) || 'none ran'} in ${formatDuration(e.durationMs)}${why}`;
    const sel = this.table.select();
    const rows = sel.rows.map((job) => {
      const d = job.startedAt === undefined ? '–' : formatDuration(job.endedAt - job.startedAt);
      const ending = jobEnding(job).short;
      return `| ${STATUS_ICON[job.status]} ${job.status} | ${cell(job.name)} | ${job.attempts.length} | ${d} | ${cell(ending)} |`;
    });
    const parts = [head, ''];
    if (rows.length) {
      if (!sel.all) parts.push(`The failed jobs and the slowest of ${sel.total}:`, '');
      parts.push(
        '| status | name | attempts | duration | exit |',
        '|---|---|---|---|---|',
        ...rows,
        '',
      );
    }
    for (const job of sel.rows.filter(failedWithTail)) {
      parts.push(
        `<details><summary>${cell(job.name)}: ${cell(jobEnding(job).text)}, last lines of output</summary>`,
        '',
        fence(cleanOutput(stripVTControlCharacters(job.outputTail ?? ''))),
        '',
        '</details>',
        '',
      );
    }
    return parts.join('\n') + '\n';
  }
}

function failedWithTail(job: JobRecord): boolean {
  return (job.status === 'failed' || job.status === 'timed_out') && Boolean(job.outputTail);
}
