import { describe, expect, it } from 'vitest';
import { stoppingLine } from '../../src/reporters/stopping.js';

describe('stoppingLine', () => {
  const stop = { signal: 'SIGINT' as const, graceMs: 1500, forced: false };

  it('says "up to" the jobs handed out when fewer were heard to start (a spawner tells it late)', () => {
    expect(stoppingLine({ ...stop, running: 0, handed: 2 })).toBe(
      'jobrun: stopping: SIGTERM to up to 2 running jobs, SIGKILL in 1.50s (Ctrl-C again: now)',
    );
    expect(stoppingLine({ ...stop, forced: true, running: 1, handed: 2 })).toBe(
      'jobrun: stopping now: SIGKILL to up to 2 running jobs',
    );
  });

  it('counts the jobs heard to start when those are all', () => {
    expect(stoppingLine({ ...stop, running: 1, handed: 1 })).toBe(
      'jobrun: stopping: SIGTERM to 1 running job, SIGKILL in 1.50s (Ctrl-C again: now)',
    );
    // a run that cannot tell what it handed out (Redis): as its reporters heard
    expect(stoppingLine({ ...stop, running: 2 })).toContain('SIGTERM to 2 running jobs');
    expect(stoppingLine({ ...stop, running: 0, handed: 0 })).toBe(
      'jobrun: stopping (SIGINT): nothing new starts',
    );
  });
});
