import path from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { attemptEnding, jobEnding } from '../model/outcome.js';
import { HTML_SCRIPT, HTML_STYLE } from './html-assets.js';
import { workersText } from './format.js';
import type { Report, ReportAttempt, ReportJob } from './report.js';
import type { Reporter } from './types.js';
import { xmlSafe } from './xml.js';

/** How an attempt ended, which colours its bar. */
type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled';

/** One bar of the timeline. Times are milliseconds from the run's start. */
interface HtmlAttempt {
  attempt: number;
  start: number;
  duration: number;
  worker: string;
  outcome: AttemptOutcome;
  exit: string;
  /** Why this attempt failed: its error, or the last lines of its output. */
  tail: string | null;
}

interface HtmlJob {
  name: string;
  command: string;
  pool: string | null;
  status: ReportJob['status'];
  reason: string | null;
  allowFailure: boolean;
  durationMs: number | null;
  exit: string;
  tail: string | null;
  /** The beginning of the captured result, as text (JSON for parsed results). */
  result: string | null;
  attempts: HtmlAttempt[];
}

/** How much of a result the page shows: enough to recognise it, never the whole megabyte. */
const RESULT_PREVIEW_CHARS = 2000;

function resultPreview(job: ReportJob): string | null {
  if (job.result === undefined) return null;
  const text = typeof job.result === 'string' ? job.result : JSON.stringify(job.result, null, 1);
  const cut = text.length > RESULT_PREVIEW_CHARS || job.resultTruncated === true;
  return xmlSafe(text.slice(0, RESULT_PREVIEW_CHARS)) + (cut ? '\n… (cut)' : '');
}

/** The data embedded in the page; the page's script draws everything from it. */
export interface HtmlData {
  runId: string;
  manifest: string | null;
  host: string;
  startedAt: string;
  durationMs: number;
  exitCode: number;
  interrupted: string | null;
  halted: string | null;
  workers: number;
  /** How the workers read in the page's header (see `workersText`). */
  workersText: string;
  summary: Report['summary'];
  jobs: HtmlJob[];
}

function attemptOutcome(job: ReportJob, a: ReportAttempt, last: boolean): AttemptOutcome {
  if (a.timedOut) return 'timed_out';
  if (a.exitCode === 0 && !a.error) return 'succeeded';
  if (last && job.status === 'cancelled') return 'cancelled';
  return 'failed';
}

export function htmlData(report: Report): HtmlData {
  const t0 = Date.parse(report.startedAt);
  return {
    runId: report.runId,
    manifest: report.manifest,
    host: report.host,
    startedAt: report.startedAt,
    durationMs: report.durationMs,
    exitCode: report.exitCode,
    interrupted: report.interrupted ?? null,
    halted: report.halted ?? null,
    workers: report.workers,
    workersText: workersText(report.workers, report.remote),
    summary: report.summary,
    jobs: report.jobs.map((job) => ({
      name: job.name,
      command: job.command,
      pool: job.pool ?? null,
      status: job.status,
      reason: job.reason ?? null,
      allowFailure: job.allowFailure,
      durationMs: job.durationMs ?? null,
      exit: jobEnding(job).short,
      // colour codes and control bytes would show as boxes in the page
      tail: job.outputTail === undefined ? null : xmlSafe(job.outputTail),
      result: resultPreview(job),
      attempts: job.attempts.map((a, i) => ({
        attempt: a.attempt,
        start: Math.max(0, Date.parse(a.startedAt) - t0),
        duration: a.durationMs,
        worker: a.worker ?? '?',
        outcome: attemptOutcome(job, a, i === job.attempts.length - 1),
        exit: attemptEnding(a).short,
        tail: attemptTail(a),
      })),
    })),
  };
}

function attemptTail(a: ReportAttempt): string | null {
  const text = [a.error, a.outputTail].filter((t) => t !== undefined && t !== '').join('\n');
  return text === '' ? null : xmlSafe(text);
}

/** JSON that is safe inside `<script>`: no `<`, `>` or `&` can close the element or open a comment. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The whole page: inline CSS and script, no network. */
export function htmlReport(report: Report): string {
  const title = `jobrun report: ${report.manifest ? path.basename(report.manifest) : report.runId}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${HTML_STYLE}</style>
</head>
<body>
<header id="head"></header>
<section id="timeline-section">
  <div class="toolbar"><h2>Timeline</h2><span class="legend"></span>
    <label>zoom <input id="zoom" type="range" min="1" max="50" value="1"></label></div>
  <div id="timeline"><div id="lanes"></div><div id="scroller"><div id="axis"></div><div id="bars"></div></div></div>
</section>
<section id="detail" hidden></section>
<section>
  <div class="toolbar"><h2>Jobs</h2><input id="filter" type="search" placeholder="filter by name or status"></div>
  <table id="jobs"><thead><tr><th>status</th><th>name</th><th>pool</th><th>attempts</th><th>duration</th><th>exit</th></tr></thead><tbody></tbody></table>
</section>
<div id="tip" hidden></div>
<script type="application/json" id="jobrun-data">${scriptJson(htmlData(report))}</script>
<script>${HTML_SCRIPT}</script>
</body>
</html>
`;
}

/** `--html FILE`: one self-contained page with the summary and a timeline of every attempt. */
export class HtmlReporter implements Reporter {
  readonly needsReport = true;
  constructor(private readonly file: string) {}

  async onRunEnd(_e: unknown, report: Report | undefined): Promise<void> {
    if (!report) return;
    await writeFileAtomic(this.file, htmlReport(report));
  }
}
