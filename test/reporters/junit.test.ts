import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JunitReporter, junitXml } from '../../src/reporters/junit.js';
import { xmlAttr, xmlSafe, xmlText } from '../../src/reporters/xml.js';
import { parseJunit, schemaErrors, testcases } from '../junit/check.js';
import { event, record, reportOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jobrun-junit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NASTY =
  'NUL\u0000 BEL\u0007 ESC-colour \u001b[31mred\u001b[0m <tag attr="x"> & \'q\' ]]> end\n' +
  'invalid utf8: ' +
  Buffer.from([0xff, 0xfe, 0x41]).toString('utf8') +
  ' lone surrogate: \ud800 tail\r\nform feed\u000c vertical tab\u000b done';

describe('XML escaping', () => {
  it('drops characters XML 1.0 forbids and terminal escapes, keeps tab/newline', () => {
    const safe = xmlSafe(NASTY);
    // eslint-disable-next-line no-control-regex
    expect(safe).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(safe).not.toContain('[31m');
    expect(safe).toContain('red');
    expect(safe).toContain('\uFFFD\uFFFDA');
    expect(safe).toContain('lone surrogate: \uFFFD tail');
    expect(safe).toContain('\n');
  });

  it('escapes markup in text so ]]> cannot survive', () => {
    expect(xmlText('a <b> & c ]]> d')).toBe('a &lt;b&gt; &amp; c ]]&gt; d');
  });

  it('escapes quotes and line breaks in attributes', () => {
    expect(xmlAttr('say "hi"\n\'there\'\t&')).toBe(
      'say &quot;hi&quot;&#10;&apos;there&apos;&#9;&amp;',
    );
  });
});

describe('JUnit report', () => {
  const jobs = [
    record('ok <1>', 0, { pool: 'cpu' }),
    record('broken & bad', 1, {
      status: 'failed',
      outputTail: NASTY,
      command: 'echo "<x>" && exit 1',
    }),
    record('slow', 2, { status: 'timed_out', outputTail: 'still going ]]> ' }),
    record('after', 3, { status: 'skipped', reason: 'need "broken & bad" failed' }),
    record('stopped', 4, { status: 'cancelled', reason: 'interrupted by SIGINT', attempts: [] }),
    record('optional', 5, { status: 'failed', allowFailure: true, outputTail: 'meh' }),
  ];
  const xml = junitXml(reportOf(jobs, 2500));

  it('is valid against the Jenkins JUnit schema (junit-10.xsd)', async () => {
    expect(await schemaErrors(xml)).toEqual([]);
  });

  it('maps each job to one testcase with the right outcome, as junit2json reads it', async () => {
    const doc = await parseJunit(xml);
    const suite = doc.testsuite![0]!;
    expect(doc.tests).toBe(6);
    expect(doc.failures).toBe(2);
    expect(suite.skipped).toBe(3);
    const cases = testcases(doc);
    expect([...cases.keys()]).toEqual(jobs.map((j) => j.name));
    expect(cases.get('ok <1>')).toEqual({ name: 'ok <1>', classname: 'cpu', time: 0.1 });
    expect(cases.get('slow')!.classname).toBe('jobrun');
    expect(cases.get('broken & bad')!.failure![0]).toMatchObject({
      type: 'failed',
      message: 'exit 1',
    });
    expect(cases.get('slow')!.failure![0]!.type).toBe('timed_out');
    expect(cases.get('after')!.skipped![0]!.message).toBe('skipped: need "broken & bad" failed');
    expect(cases.get('stopped')!.skipped).toHaveLength(1);
    expect(cases.get('optional')!.skipped![0]!.message).toBe('allowed to fail: exit 1');
    expect(cases.get('optional')!.failure).toBeUndefined();
  });

  it('round-trips the output tail through the parser, minus what XML cannot hold', async () => {
    const cases = testcases(await parseJunit(xml));
    const text = cases.get('broken & bad')!.failure![0]!.inner!;
    expect(text).toContain('echo "<x>" && exit 1');
    expect(text).toContain('<tag attr="x"> & \'q\' ]]> end');
    expect(text).toContain('invalid utf8: \uFFFD\uFFFDA');
    expect(text).toContain('lone surrogate: \uFFFD tail');
    expect(text).not.toContain('\u001b');
    expect(cases.get('slow')!.failure![0]!.inner).toContain('still going ]]>');
  });

  it('the reporter writes the same document to a file', async () => {
    mkdirSync(join(dir, 'sub'));
    const file = join(dir, 'sub', 'junit.xml');
    const report = reportOf(jobs, 2500);
    await new JunitReporter(file).onRunEnd(
      event('run_end', { runId: 'r1', summary: report.summary, durationMs: 2500, exitCode: 1 }),
      report,
    );
    expect(readFileSync(file, 'utf8')).toBe(xml);
  });
});

describe('a job restored from the cache', () => {
  it('is a passed testcase, also when it may fail', async () => {
    const jobs = [
      record('restored', 0, { status: 'cached', attempts: [], reason: 'unchanged since …' }),
      record('restored too', 1, { status: 'cached', attempts: [], allowFailure: true }),
    ];
    const doc = await parseJunit(junitXml(reportOf(jobs)));
    expect(doc.failures).toBe(0);
    expect(doc.testsuite![0]!.skipped).toBe(0);
    const cases = testcases(doc);
    expect(cases.get('restored')).toEqual({ name: 'restored', classname: 'jobrun', time: 0 });
    expect(cases.get('restored too')!.skipped).toBeUndefined();
  });
});
