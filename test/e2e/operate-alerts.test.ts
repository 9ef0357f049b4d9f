import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLines, waitFor } from './helpers.js';
import { Batch } from './operate-helpers.js';

describe('monitoring a running batch', () => {
  it('a queue-depth alert runs its command once per episode and says when it clears; on_end runs at the end', async () => {
    const b = new Batch();
    try {
      const done = b.start(
        [
          '-j',
          '1',
          '--report',
          'r.json',
          '--alert-queue-depth',
          '2',
          '--alert-run',
          'echo "$JOBRUN_ALERT $JOBRUN_ALERT_VALUE $JOBRUN_RUN_ID" >> alerts.txt',
          '--on-end',
          'echo "$JOBRUN_EXIT_CODE $JOBRUN_SUCCEEDED $JOBRUN_TOTAL $JOBRUN_REPORT" > end.txt',
        ],
        ['a', 'b', 'c', 'd', 'e'],
      );
      await b.started('a');
      const alerts = path.join(b.dir, 'alerts.txt');
      await waitFor(() => readLines(alerts).length === 1, 30_000, 'the alert command');
      b.release('a'); // 3 waiting: still the same episode
      await b.started('b');
      b.release();
      const r = await done;
      expect(r.code).toBe(0);
      const lines = readLines(alerts);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^queue_depth 3 \d{8}-\d{6}-\w{4}$/);
      expect(r.stderr.match(/ALERT queue_depth: 3 jobs waiting, above 2/g)).toHaveLength(1);
      expect(r.stderr.match(/alert cleared queue_depth/g)).toHaveLength(1);
      expect(fs.readFileSync(path.join(b.dir, 'end.txt'), 'utf8')).toBe('0 5 5 r.json\n');
    } finally {
      await b.finish();
    }
  });

  it('alerts: and on_end: in a manifest: a failure-rate alert and the end command', async () => {
    const b = new Batch();
    const jobs = ['ok1', 'bad1', 'bad2', 'ok2'].map(
      (n) => `  - { name: ${n}, run: "${n.startsWith('bad') ? 'exit 1' : 'true'}" }`,
    );
    fs.writeFileSync(
      path.join(b.dir, 'm.yaml'),
      [
        'version: 1',
        'workers: 1',
        'alerts:',
        '  failure_rate: { above: 40%, last: 3 }',
        '  run: echo "$JOBRUN_ALERT $JOBRUN_ALERT_VALUE" >> alerts.txt',
        'on_end: echo "exit=$JOBRUN_EXIT_CODE failed=$JOBRUN_FAILED" > end.txt',
        'jobs:',
        ...jobs,
        '',
      ].join('\n'),
    );
    const r = await b.ctl(['run', 'm.yaml', '--progress', 'plain']);
    expect(r.code).toBe(1);
    expect(readLines(path.join(b.dir, 'alerts.txt'))).toEqual(['failure_rate 50']);
    expect(r.stderr).toMatch(/ALERT failure_rate: 1 of the last 2 jobs failed \(50%, limit 40%\)/);
    expect(fs.readFileSync(path.join(b.dir, 'end.txt'), 'utf8')).toBe('exit=1 failed=2\n');
  });

  it('--metrics-port serves Prometheus metrics and /healthz while the run runs', async () => {
    const b = new Batch();
    try {
      let stderr = '';
      const done = b.start(['-j', '1', '--metrics-port', '0'], ['a', 'b', 'c']);
      await waitFor(() => b.child, 10_000, 'the run');
      b.child?.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      await b.started('a');
      const url = await waitFor(
        () => /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr)?.[1],
        30_000,
        'the metrics URL',
      );
      // a's marker may come before jobrun hears of its start (a spawner holds reports
      // back to share a write): read until jobrun knows it started (bounded: 20 s)
      let metrics = '';
      for (let i = 0; i < 200; i++) {
        metrics = await (await fetch(`${url}/metrics`)).text();
        if (/jobrun_jobs_started_total\{pool="default"\} 1/.test(metrics)) break;
        await sleep(100);
      }
      expect(metrics).toMatch(/jobrun_queue_depth\{pool="default"\} 2/);
      expect(metrics).toMatch(/jobrun_jobs_active\{pool="default"\} 1/);
      expect(metrics).toMatch(/jobrun_jobs_started_total\{pool="default"\} 1/);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      b.release();
      expect((await done).code).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow(); // closed with the run
    } finally {
      await b.finish();
    }
  });
});
