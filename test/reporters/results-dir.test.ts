import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LostLogs, OutputLostError } from '../../src/reporters/lost-logs.js';
import { OutputReporter } from '../../src/reporters/output.js';
import { ResultsDirReporter } from '../../src/reporters/results-dir.js';
import { StreamSink } from '../../src/reporters/sink.js';
import { capture, event, record } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jobrun-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A job whose one attempt printed something, its streams apart; `stdout` written if given. */
function printed(name: string, index: number, stdout?: string) {
  const job = record(name, index);
  const file = (ext: string) => join(dir, `${name}.${ext}`);
  if (stdout !== undefined) writeFileSync(file('stdout'), stdout);
  Object.assign(job.attempts[0]!, {
    logPath: file('log'),
    stdoutPath: file('stdout'),
    stderrPath: file('stderr'),
  });
  return job;
}

describe('--results and a removed log', () => {
  it('a job whose stream files are both gone lost its output: said once, with grouped output too', async () => {
    const said: string[] = [];
    const lostLogs = new LostLogs((line) => said.push(line));
    const results = new ResultsDirReporter(join(dir, 'res'), lostLogs);
    const shown = capture();
    const output = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(shown.stream),
      errSink: new StreamSink(capture().stream),
      lostLogs,
    });
    output.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 2, workers: 1, logDir: dir }),
    );
    for (const job of [printed('kept', 0, 'data\n'), printed('gone', 1)]) {
      results.onJobEnd(event('job_end', { job }));
      output.onJobEnd(event('job_end', { job }));
    }
    await expect(results.onRunEnd()).rejects.toBeInstanceOf(OutputLostError);
    await expect(output.onRunEnd()).rejects.toThrow(
      /^the log of gone was removed before its output could be shown$/,
    );
    expect(said).toEqual(['jobrun: the log of gone was removed before its output could be shown']);
    expect(readFileSync(join(dir, 'res/1-kept/stdout'), 'utf8')).toBe('data\n');
    expect(readFileSync(join(dir, 'res/1-kept/stderr'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'res/2-gone/stdout'), 'utf8')).toBe('');
    expect(shown.text).toBe('data\n');
  });

  it('a job that printed nothing (no log) has no files and lost nothing', async () => {
    const said: string[] = [];
    const results = new ResultsDirReporter(join(dir, 'res2'), new LostLogs((l) => said.push(l)));
    results.onJobEnd(event('job_end', { job: record('quiet', 0) }));
    await results.onRunEnd();
    expect(said).toEqual([]);
  });
});
