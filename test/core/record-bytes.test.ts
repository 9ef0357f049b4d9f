import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newEntry } from '../../src/core/entry.js';
import { openJournal } from '../../src/core/journal.js';
import { attemptsRecord } from '../../src/core/records.js';
import { unranRecord } from '../../src/model/events.js';
import { job } from './harness.js';

// Records and journal lines are made once per job, key by key: these pin their bytes
// (key order, absent keys), which reports, events and `--resume` depend on.
describe('the bytes of a record', () => {
  it('a shell job that ran: keys in report order, undefined ones left out', () => {
    const entry = newEntry(job('a', {}, 4));
    entry.attempts.push(
      { attempt: 1, startedAt: 10, durationMs: 5, timedOut: false, exitCode: 1, outputTail: 'x' },
      { attempt: 2, startedAt: 30, durationMs: 5, timedOut: false, exitCode: 2, worker: '2' },
    );
    expect(JSON.stringify(attemptsRecord(entry, 'failed', 99, 'why'))).toBe(
      '{"id":"5-a","name":"a","index":4,"command":"run a","cwd":"/","shell":"/bin/sh",' +
        '"priority":0,"needs":[],"allowFailure":false,"status":"failed","reason":"why",' +
        '"exitCode":2,"attempts":[{"attempt":1,"startedAt":10,"durationMs":5,"timedOut":false,' +
        '"exitCode":1,"outputTail":"x"},{"attempt":2,"startedAt":30,"durationMs":5,' +
        '"timedOut":false,"exitCode":2,"worker":"2"}],"worker":"2","startedAt":10,"endedAt":99}',
    );
  });

  it('an argv job of a stage with items and a pool: no shell, items before stage', () => {
    const spec = job('s-1', { argv: ['x'], items: ['i'], stage: 's-{}', pool: 'gpu' });
    const entry = newEntry(spec);
    const result = { kind: 'text' as const, text: 'r' };
    entry.attempts.push({
      attempt: 1,
      startedAt: 1,
      durationMs: 2,
      timedOut: false,
      exitCode: 0,
      logPath: '/l',
      outputTail: 'ignored on success',
      result,
      resultTruncated: true,
    });
    expect(JSON.stringify(attemptsRecord(entry, 'succeeded', 3))).toBe(
      '{"id":"1-s-1","name":"s-1","index":0,"command":"run s-1","items":["i"],"stage":"s-{}",' +
        '"cwd":"/","pool":"gpu","priority":0,"needs":[],"allowFailure":false,' +
        '"status":"succeeded","exitCode":0,"attempts":[{"attempt":1,"startedAt":1,' +
        '"durationMs":2,"timedOut":false,"exitCode":0,"logPath":"/l",' +
        '"outputTail":"ignored on success","result":{"kind":"text","text":"r"},' +
        '"resultTruncated":true}],"logPath":"/l","result":{"kind":"text","text":"r"},' +
        '"resultTruncated":true,"startedAt":1,"endedAt":3}',
    );
  });

  it('a job that never ran', () => {
    expect(JSON.stringify(unranRecord(job('b'), 'skipped', 'need "a" failed', 7))).toBe(
      '{"id":"1-b","name":"b","index":0,"command":"run b","cwd":"/","shell":"/bin/sh",' +
        '"priority":0,"needs":[],"allowFailure":false,"status":"skipped",' +
        '"reason":"need \\"a\\" failed","attempts":[],"endedAt":7}',
    );
  });
});

describe('the bytes of journal lines', () => {
  it('a start, then an end naming its groups and keeping its result', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-bytes-'));
    const file = path.join(dir, 'j.ndjson');
    const journal = openJournal(file, false);
    const spec = job('a');
    journal.started(spec, 101, 5);
    const entry = newEntry(spec);
    const result = { kind: 'lines' as const, lines: ['x'] };
    entry.attempts.push({ attempt: 1, startedAt: 1, durationMs: 1, timedOut: false, result });
    const record = attemptsRecord(entry, 'succeeded', Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    record.resultTruncated = true;
    journal.record(record);
    journal.started(job('b', {}, 1), 102, undefined);
    journal.record(attemptsRecord(newEntry(job('c', {}, 2)), 'failed', 0));
    journal.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const time = /"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/;
    const boot = /"boot":"[^"]+",|/;
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\{"name":"a","command":"run a","status":"running",${time.source},"pid":101,(${boot.source})"start":5\\}$`,
      ),
    );
    expect(lines[1]).toBe(
      '{"name":"a","command":"run a","status":"succeeded","time":"2026-01-02T03:04:05.006Z",' +
        '"pids":[101],"result":{"kind":"lines","lines":["x"]},"resultTruncated":true}',
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^\\{"name":"b","command":"run b","status":"running",${time.source},"pid":102(,"boot":"[^"]+")?\\}$`,
      ),
    );
    expect(lines[3]).toBe(
      '{"name":"c","command":"run c","status":"failed","time":"1970-01-01T00:00:00.000Z"}',
    );
    expect(lines[4]).toBe('');
    fs.rmSync(dir, { recursive: true });
  });
});
