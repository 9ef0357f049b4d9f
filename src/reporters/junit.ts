import { endedWell } from '../model/job.js';
import { writeFileAtomic } from './atomic.js';
import { once } from 'node:events';
import { jobEnding } from '../model/outcome.js';
import type { Report, ReportJob } from './report.js';
import type { Reporter } from './types.js';
import { xmlAttr, xmlText } from './xml.js';

const seconds = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);

/**
 * One `<testcase>`. The mapping (documented in the README):
 * - failed / timed_out → `<failure type="failed|timed_out" message="exit 3">output tail</failure>`
 * - skipped / cancelled → `<skipped message="need &quot;build&quot; failed"/>`
 * - failed but `allow_failure` → `<skipped message="allowed to fail: exit 3"/>` (it must not
 *   turn the CI's test tab red when the run itself passed), with the tail in `<system-out>`.
 */
export function testcase(job: ReportJob): string {
  const attrs =
    `name="${xmlAttr(job.name)}" classname="${xmlAttr(job.pool ?? 'jobrun')}" ` +
    `time="${seconds(job.durationMs)}"`;
  const body: string[] = [];
  const failed = job.status === 'failed' || job.status === 'timed_out';
  if (failed && !job.allowFailure) {
    body.push(
      `<failure message="${xmlAttr(jobEnding(job).text)}" type="${job.status}">` +
        xmlText(`${job.command}\n\n${job.outputTail ?? ''}`.trimEnd()) +
        '</failure>',
    );
  } else if (failed) {
    body.push(`<skipped message="${xmlAttr(`allowed to fail: ${jobEnding(job).text}`)}"/>`);
  } else if (job.status === 'skipped' || job.status === 'cancelled') {
    body.push(`<skipped message="${xmlAttr(`${job.status}: ${job.reason ?? job.status}`)}"/>`);
  }
  if (job.outputTail && job.allowFailure)
    body.push(`<system-out>${xmlText(job.outputTail)}</system-out>`);
  if (body.length === 0) return `    <testcase ${attrs}/>\n`;
  return `    <testcase ${attrs}>\n      ${body.join('\n      ')}\n    </testcase>\n`;
}

/**
 * The document's head: totals in the shape GitHub, GitLab and Jenkins read. The target is
 * the Jenkins xUnit plugin's published `junit-10.xsd` (vendored in test/junit/ and checked
 * in the tests): it allows `skipped` on `<testsuite>` but not on `<testsuites>`.
 */
function junitHead(report: Report): string {
  const count = (pred: (j: ReportJob) => boolean) => report.jobs.filter(pred).length;
  const isFailure = (j: ReportJob) =>
    (j.status === 'failed' || j.status === 'timed_out') && !j.allowFailure;
  const isSkipped = (j: ReportJob) =>
    j.status === 'skipped' || j.status === 'cancelled' || (j.allowFailure && !endedWell(j.status));
  const totals =
    `tests="${report.jobs.length}" failures="${count(isFailure)}" errors="0" ` +
    `time="${seconds(report.durationMs)}"`;
  const name = xmlAttr(report.manifest ?? `jobrun ${report.runId}`);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="jobrun" ${totals}>\n` +
    `  <testsuite name="${name}" ${totals} skipped="${count(isSkipped)}" timestamp="${report.startedAt.replace(/\.\d+Z$/, '')}" ` +
    `hostname="${xmlAttr(report.host)}">\n` +
    `    <properties><property name="jobrun.runId" value="${xmlAttr(report.runId)}"/></properties>\n`
  );
}

const JUNIT_TAIL = '  </testsuite>\n</testsuites>\n';

/** The whole document as a string (for tests and small runs). */
export function junitXml(report: Report): string {
  return junitHead(report) + report.jobs.map(testcase).join('') + JUNIT_TAIL;
}

/** `--junit FILE`: JUnit XML, one testcase per job, streamed to a temporary file, then renamed. */
export class JunitReporter implements Reporter {
  readonly needsReport = true;
  constructor(private readonly file: string) {}

  async onRunEnd(_e: unknown, report: Report | undefined): Promise<void> {
    if (!report) return;
    await writeFileAtomic(this.file, async (out) => {
      const write = async (text: string) => {
        if (!out.write(text)) await once(out, 'drain');
      };
      await write(junitHead(report));
      for (const job of report.jobs) await write(testcase(job));
      await write(JUNIT_TAIL);
    });
  }
}
