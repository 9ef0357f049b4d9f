import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { register } from '../../src/control/registry.js';
import { RunState } from '../../src/control/run-state.js';
import type { JobRecord, RunEvent } from '../../src/model/events.js';
import { jobrun, tempDir, type Result } from './helpers.js';

/**
 * `jobrun logs b -f` against a run played here, on a control socket that answers as a
 * run's does (from a real `RunState`) and then ends as a run does (its entry first),
 * so the test decides what happens between the follower's first look (b waits) and
 * its next: `meanwhile`, given the state and the run's log folder.
 */
async function followThroughTheEnd(
  logDir: string,
  meanwhile: (at: (event: RunEvent) => void) => void,
): Promise<Result & { asked: number }> {
  const dir = path.dirname(logDir);
  const xdg = path.join(dir, 'xdg');
  const runs = path.join(xdg, 'jobrun');
  fs.mkdirSync(runs, { recursive: true, mode: 0o700 });
  const state = new RunState();
  const at = (event: RunEvent) => state.onEvent(event);
  const time = Date.now();
  at({ type: 'run_start', time, runId: 'r1', manifestPath: null, total: 2, workers: 1, logDir });
  at({ type: 'job_queued', time, id: '1-a', name: 'a', priority: 0 });
  at({ type: 'job_queued', time, id: '2-b', name: 'b', priority: 0 });
  const { entry, remove } = register('r1', 'm.yaml', runs);
  let asked = 0;
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      asked++;
      socket.end(JSON.stringify({ ok: true, log: state.jobLog('b') }) + '\n');
    });
    // the follower read its answer and sleeps until its next look
    socket.on('close', () => {
      if (asked !== 1) return;
      meanwhile(at);
      remove(); // as a run that ends: its entry goes before it stops answering
      server.close();
    });
  });
  await new Promise<void>((resolve) => server.listen(entry.socket, resolve));
  try {
    const r = await jobrun(['logs', 'b', '-f'], { cwd: dir, env: { XDG_RUNTIME_DIR: xdg } });
    return { ...r, asked };
  } finally {
    server.close();
    remove();
  }
}

function ended(name: string, status: JobRecord['status']): RunEvent {
  const job = { id: `2-${name}`, name, status } as JobRecord;
  return { type: 'job_end', time: Date.now(), job };
}

describe('logs -f of a job it saw waiting when the run ends', () => {
  it('prints the output of a job that started and ended meanwhile, and exits 0 as for any ended job', async () => {
    const logDir = path.join(tempDir('jobrun-logs-'), 'logs');
    fs.mkdirSync(logDir);
    const r = await followThroughTheEnd(logDir, (at) => {
      at({ type: 'job_start', time: Date.now(), id: '2-b', name: 'b', attempt: 1, worker: '1' });
      fs.writeFileSync(path.join(logDir, '2-b.log'), 'hello from b\n');
      at(ended('b', 'succeeded'));
    });
    expect(r.asked).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from b\n');
    expect(r.code).toBe(0);
  });

  it('never prints an earlier run’s log of the same name for a job that did not start', async () => {
    const logDir = path.join(tempDir('jobrun-logs-'), 'logs');
    fs.mkdirSync(logDir);
    const earlier = path.join(logDir, '2-b.log'); // --resume, or --logs DIR used again
    fs.writeFileSync(earlier, 'from the run before\n');
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(earlier, hourAgo, hourAgo);
    const r = await followThroughTheEnd(logDir, (at) => at(ended('b', 'cancelled')));
    expect(r.asked).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });
});
