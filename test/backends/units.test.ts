import { describe, expect, it } from 'vitest';
import { parsePayload, specFromPayload, toPayload } from '../../src/backends/payload.js';
import { decodeCancel, encodeCancel } from '../../src/backends/redis-cancel.js';
import { WorkerJobs } from '../../src/backends/redis-worker-jobs.js';
import type { RunningAttempt } from '../../src/exec/types.js';
import { bullPriority, jobIdFor, queueName, poolOfQueue } from '../../src/backends/redis-names.js';
import { parseRedisUrl, redactUrl, scrub } from '../../src/backends/redis-url.js';
import { UsageError } from '../../src/errors.js';
import { job } from '../core/harness.js';

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('redis://bob:s3cret@host:6380/2')).toBe('redis://bob:***@host:6380/2');
    expect(redactUrl('rediss://:s3cret@host:6380')).toBe('rediss://:***@host:6380');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
  });

  it('redacts even a URL that does not parse', () => {
    expect(redactUrl('redis://bob:s3 cret@ho st:x')).not.toContain('s3 cret');
  });

  it('redacts a mistyped URL whose password would otherwise be echoed (a slash or colon short)', () => {
    for (const typo of ['redis:/:s3cret@host:1', 'redis//:s3cret@host', 'redis:s3cret@host']) {
      expect(redactUrl(typo), typo).not.toContain('s3cret');
      expect(redactUrl(typo), typo).toContain('@host');
      expect(() => parseRedisUrl(typo)).toThrow(UsageError);
      try {
        parseRedisUrl(typo);
      } catch (err) {
        expect((err as Error).message, typo).not.toContain('s3cret');
      }
    }
  });

  it('redacts every URL form: ?password=, other parameters, a fragment, and on a URL that does not parse', () => {
    const forms = [
      'redis://h:1?password=s3cret',
      'redis://h:1/0?db=1&password=s3cret',
      'redis://:pw@h:1/x?password=s3cret',
      'redis//h?password=s3cret',
      'redis://h:1#s3cret',
      'redis://h:1/?auth=s3cret;x=1',
    ];
    for (const form of forms) expect(redactUrl(form), form).not.toContain('s3cret');
    expect(redactUrl('redis://h:1/0?password=s3cret')).toBe('redis://h:1/0?password=***');
    try {
      parseRedisUrl('redis://h:1/x?password=s3cret');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cret');
    }
    const t = parseRedisUrl('redis://h:1?password=s3%40cret');
    expect(t.options.password).toBe('s3@cret');
    expect(t.secrets).toContain('s3@cret');
  });

  it('scrubs raw and URL-encoded secrets from messages', () => {
    expect(scrub('auth p@ss and p%40ss failed', ['p@ss'])).toBe('auth *** and *** failed');
  });
});

describe('parseRedisUrl', () => {
  it('reads user, password, host, port and db', () => {
    const t = parseRedisUrl('redis://bob:pa%3Ass@example.com:6380/3');
    expect(t.options).toMatchObject({
      host: 'example.com',
      port: 6380,
      db: 3,
      username: 'bob',
      password: 'pa:ss',
    });
    expect(t.options.tls).toBeUndefined();
    expect(t.safe).toBe('redis://bob:***@example.com:6380/3');
    expect(t.secrets).toEqual(['pa:ss']);
  });

  it('builds a TLS connection for rediss://', () => {
    expect(parseRedisUrl('rediss://example.com').options).toMatchObject({
      tls: {},
      port: 6379,
      db: 0,
    });
  });

  it('rejects other schemes and bad databases without echoing the password', () => {
    expect(() => parseRedisUrl('http://u:topsecret@h')).toThrow(UsageError);
    try {
      parseRedisUrl('redis://u:topsecret@h:1/x');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
  });
});

describe('names', () => {
  it('maps higher jobrun priorities to lower BullMQ numbers, within 1..2^21', () => {
    expect(bullPriority(10)).toBeLessThan(bullPriority(0));
    expect(bullPriority(0)).toBeLessThan(bullPriority(-5));
    expect(bullPriority(1e12)).toBe(1);
    expect(bullPriority(-1e12)).toBe(2 ** 21);
  });

  it('gives each pool its queue, and deterministic ids without colons', () => {
    expect(queueName(undefined)).toBe('default');
    expect(poolOfQueue(queueName('cpu'))).toBe('cpu');
    expect(poolOfQueue('default')).toBeUndefined();
    const id = jobIdFor('abc.run1', { index: 0, name: 'a', command: 'echo' });
    expect(id).toBe(jobIdFor('abc.run1', { index: 0, name: 'a', command: 'echo' }));
    expect(id).not.toContain(':');
    expect(id).not.toBe(jobIdFor('abc.run1', { index: 0, name: 'a', command: 'echo 2' }));
    // equal names and commands at different places in the run are different jobs
    expect(id).not.toBe(jobIdFor('abc.run1', { index: 1, name: 'a', command: 'echo' }));
    // in a run with stages jobs are numbered as stages expand, which --resume may not
    // repeat: there the name alone (unique in a manifest) places the job
    const staged = jobIdFor('abc.run1', { index: 4, name: 's-x', command: 'echo' }, true);
    expect(staged).toBe(jobIdFor('abc.run1', { index: 5, name: 's-x', command: 'echo' }, true));
    expect(staged).not.toContain(':');
    expect(staged).not.toBe(jobIdFor('abc.run1', { index: 4, name: 's x', command: 'echo' }, true));
  });
});

describe('payload', () => {
  const spec = job('build', { cwd: '/repo/sub', env: { A: '1' }, pool: 'cpu', command: 'make' });

  it('ships a cwd relative to the coordinator folder and resolves it on the worker', () => {
    const p = toPayload('rk', spec, 5000, '/repo');
    expect(p).toMatchObject({ cwd: 'sub', env: { A: '1' }, timeoutMs: 5000, pool: 'cpu' });
    const back = specFromPayload(p, '/elsewhere/checkout');
    expect(back.cwd).toBe('/elsewhere/checkout/sub');
    expect(back.env).toEqual({ A: '1' });
    expect(toPayload('rk', spec, undefined, '/other').cwd).toBe('/repo/sub');
  });

  it('never ships the coordinator environment', () => {
    const p = toPayload('rk', spec, undefined, '/repo');
    expect(Object.keys(p.env)).toEqual(['A']);
  });

  it('validates payloads and explains what is wrong', () => {
    expect('payload' in parsePayload(toPayload('rk', spec, undefined, '/repo'))).toBe(true);
    const bad = parsePayload({ ...toPayload('rk', spec, undefined, '/repo'), command: 42 });
    expect(bad).toEqual({ reason: expect.stringContaining('command') });
    expect('reason' in parsePayload({ hello: 'world' })).toBe(true);
    expect(
      'reason' in parsePayload({ ...toPayload('rk', spec, undefined, '/repo'), extra: 1 }),
    ).toBe(true);
  });
});

describe('cancel messages on a worker', () => {
  /** A worker holding `held` (waiting for a slot) and running `running`, whose stops are noted. */
  function worker() {
    const jobs = new WorkerJobs(() => {});
    const stops: boolean[] = [];
    const held = jobs.hold('run1.held');
    const handle = { stop: (immediate?: boolean) => stops.push(immediate === true) };
    const running = {
      handle: handle as unknown as RunningAttempt,
      cancelled: false,
      lockLost: false,
    };
    jobs.running.set('run1.running', running);
    return { jobs, stops, held, running };
  }

  it('a stop drops what waits and stops what runs', () => {
    const w = worker();
    w.jobs.onMessage(encodeCancel({ jobIds: ['run1.held', 'run1.running'], immediate: true }));
    expect(w.held.cancelled).toBe(true);
    expect(w.running.cancelled).toBe(true);
    expect(w.stops).toEqual([true]);
  });

  it('a withdrawal (a stop that lets running jobs finish) drops what waits and leaves what runs', () => {
    const w = worker();
    const text = encodeCancel({
      jobIds: ['run1.held', 'run1.running'],
      immediate: false,
      unstarted: true,
    });
    expect(decodeCancel(text)).toEqual({
      jobIds: ['run1.held', 'run1.running'],
      immediate: false,
      unstarted: true,
    });
    w.jobs.onMessage(text);
    expect(w.held.cancelled).toBe(true);
    expect(w.running.cancelled).toBe(false);
    expect(w.stops).toEqual([]);
  });

  it('reads the message of an earlier coordinator (one job, no withdrawal) as a stop', () => {
    expect(decodeCancel('{"jobId":"run1.a","immediate":false}')).toEqual({
      jobIds: ['run1.a'],
      immediate: false,
    });
    expect(decodeCancel('{"jobIds":["run1.a"],"unstarted":"yes"}')).toEqual({
      jobIds: ['run1.a'],
      immediate: false,
    });
  });
});
