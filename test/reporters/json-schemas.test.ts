/**
 * One JSON vocabulary: the report, the events and `--results` meta.json of a real run
 * use the same names and time formats, and each validates against the JSON Schema that
 * `jobrun schema --report` / `--events` prints (checked with ajv, a JSON Schema validator).
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { jobrun, tempDir, writeFiles } from '../e2e/helpers.js';

const MANIFEST = `
jobs:
  ok:
    run: echo hello
    capture: stdout
  flaky:
    run: echo try >&2; exit 3
    retries: 1
    backoff: { delay: 10ms }
  slow:
    run: sleep 5
    timeout: 200ms
    kill_grace: 100ms
  after:
    needs: flaky
    run: echo never
  each:
    for_each: [a, b]
    run: printf '%s\\n' {} | wc -c
  split:
    run: printf 'x\\ny\\n'
  per-{item}:
    for_each: { from: split }
    run: echo {item}
  sum:
    stdin: { from: "per-{item}" }
    run: cat
`;

async function schema(flag: string): Promise<Record<string, unknown>> {
  const r = await jobrun(['schema', flag]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('report, events and --results meta share one vocabulary and its schemas', () => {
  it('a real run validates against the shipped schemas, with the same fields in all three', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': MANIFEST });
    const r = await jobrun(
      ['run', 'm.yaml', '--events', '--report', 'report.json', '--results', 'out', '-j', '4'],
      { cwd: dir },
    );
    expect(r.code).toBe(1);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as {
      jobs: { id: string; attempts: unknown[] }[];
    };

    const ajv = new Ajv({ allErrors: true });
    const reportSchema = await schema('--report');
    const validReport = ajv.compile(reportSchema);
    // a pipeline's fields are there to be checked: a stage's job, a fan-in's sources
    expect(report.jobs).toContainEqual(expect.objectContaining({ stage: 'per-{item}' }));
    expect(report.jobs).toContainEqual(expect.objectContaining({ stdinFrom: ['per-{item}'] }));
    expect(validReport(report), ajv.errorsText(validReport.errors)).toBe(true);
    const validEvent = ajv.compile(await schema('--events'));
    for (const event of events) {
      expect(
        validEvent(event),
        `${JSON.stringify(event)}\n${ajv.errorsText(validEvent.errors)}`,
      ).toBe(true);
    }
    const validJob = ajv.compile({ $ref: `${String(reportSchema.$id)}#/properties/jobs/items` });
    expect(report.jobs.map((j) => j.id).sort()).toEqual(
      fs.readdirSync(path.join(dir, 'out')).sort(),
    );

    // the same job reads the same in the report, its job_end event and its meta.json
    const types = new Set(events.map((e) => e.type));
    for (const type of ['run_start', 'job_start', 'attempt_end', 'job_retry', 'job_end', 'run_end'])
      expect(types, type).toContain(type);
    for (const job of report.jobs) {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'out', job.id, 'meta.json'), 'utf8'));
      expect(validJob(meta), ajv.errorsText(validJob.errors)).toBe(true);
      expect(meta).toEqual(job);
      const ended = events.find(
        (e) => e.type === 'job_end' && (e.job as { id: string }).id === job.id,
      );
      expect(ended?.job).toEqual(job);
      const attempts = events
        .filter((e) => e.type === 'attempt_end' && e.id === job.id)
        .map((e) => {
          const {
            result: _captured,
            resultTruncated: _cut,
            ...attempt
          } = e.result as Record<string, unknown>;
          return attempt;
        });
      expect(attempts).toEqual(job.attempts);
    }
    const start = events[0] as { manifest: string; time: string };
    expect(start.manifest).toBe(path.join(dir, 'm.yaml'));
    expect(new Date(start.time).toISOString()).toBe(start.time);
  });

  it('refuses a field the schema does not know (so a new field gets described)', async () => {
    const ajv = new Ajv();
    const valid = ajv.compile(await schema('--events'));
    const line = { type: 'workers_change', time: new Date().toISOString(), workers: 3 };
    expect(valid(line)).toBe(true);
    expect(valid({ ...line, logPath: '/x' })).toBe(false);
    expect(valid({ ...line, time: 1700000000000 })).toBe(false);
  });
});
