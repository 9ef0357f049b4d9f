import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JunitReporter, junitXml } from '../../src/reporters/junit.js';
import { xmlAttr, xmlSafe, xmlText } from '../../src/reporters/xml.js';
import { event, record, reportOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jobrun-junit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NASTY =
  'NUL\u0000 BEL\u0007 ESC-colour \u001b[31mred\u001b[0m <tag attr="x"> & \'q\' ]]> end\n' +
  'invalid utf8: ' +
  Buffer.from([0xff, 0xfe, 0x41]).toString('utf8') +
  ' lone surrogate: \ud800 tail\r\nform feed\u000c vertical tab\u000b done';

/** Runs xmllint on a document: `--noout` validates well-formedness, `--xpath` queries it. */
function xmllint(xml: string, ...args: string[]): string {
  const file = join(dir, `doc-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  return execFileSync('xmllint', [...args, file], { encoding: 'utf8' }).trim();
}

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

  it('is well-formed for xmllint', () => {
    const r = spawnSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('maps each job to one testcase with the right outcome', () => {
    expect(xmllint(xml, '--xpath', 'count(//testsuite/testcase)')).toBe('6');
    expect(xmllint(xml, '--xpath', 'string(/testsuites/@tests)')).toBe('6');
    expect(xmllint(xml, '--xpath', 'string(/testsuites/@failures)')).toBe('2');
    expect(xmllint(xml, '--xpath', 'string(/testsuites/@skipped)')).toBe('3');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="ok <1>"]/@classname)')).toBe('cpu');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="ok <1>"]/@time)')).toBe('0.100');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="slow"]/@classname)')).toBe('jobrun');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="broken & bad"]/failure/@type)')).toBe(
      'failed',
    );
    expect(
      xmllint(xml, '--xpath', 'string(//testcase[@name="broken & bad"]/failure/@message)'),
    ).toBe('exit 1');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="slow"]/failure/@type)')).toBe(
      'timed_out',
    );
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="after"]/skipped/@message)')).toBe(
      'skipped: need "broken & bad" failed',
    );
    expect(xmllint(xml, '--xpath', 'count(//testcase[@name="stopped"]/skipped)')).toBe('1');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="optional"]/skipped/@message)')).toBe(
      'allowed to fail: exit 1',
    );
    expect(xmllint(xml, '--xpath', 'count(//testcase[@name="optional"]/failure)')).toBe('0');
  });

  it('round-trips the output tail through the parser, minus what XML cannot hold', () => {
    const text = xmllint(xml, '--xpath', 'string(//testcase[@name="broken & bad"]/failure)');
    expect(text).toContain('echo "<x>" && exit 1');
    expect(text).toContain('<tag attr="x"> & \'q\' ]]> end');
    expect(text).toContain('invalid utf8: \uFFFD\uFFFDA');
    expect(text).toContain('lone surrogate: \uFFFD tail');
    expect(text).not.toContain('\u001b');
    expect(xmllint(xml, '--xpath', 'string(//testcase[@name="slow"]/failure)')).toContain(
      'still going ]]>',
    );
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
