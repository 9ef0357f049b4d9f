import { describe, expect, it } from 'vitest';
import { Feeder } from '../../src/core/feeder.js';
import type { JobSpec } from '../../src/model/job.js';
import { job } from './harness.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function* lines(n: number, pulled: { count: number }): AsyncGenerator<JobSpec> {
  for (let i = 0; i < n; i++) {
    pulled.count++;
    yield job(`l${i}`, {}, i);
  }
}

describe('Feeder', () => {
  it('pauses while the queue is full and resumes when woken with room', async () => {
    const queue: JobSpec[] = [];
    const pulled = { count: 0 };
    const feeder = new Feeder(3, () => queue.length);
    const done = feeder.feed(lines(10, pulled), (spec) => queue.push(spec));
    await flush();
    expect(pulled.count).toBe(3);
    feeder.wake(); // no room made: stays paused
    await flush();
    expect(pulled.count).toBe(3);
    queue.shift();
    feeder.wake();
    await flush();
    expect(pulled.count).toBe(4);
    let finished = false;
    void done.then(() => (finished = true));
    for (let i = 0; i < 20 && !finished; i++) {
      queue.length = 0;
      feeder.wake();
      await flush();
    }
    expect(finished).toBe(true);
    expect(pulled.count).toBe(10);
  });

  it('stop ends the feed at the next job, even while paused', async () => {
    const queue: JobSpec[] = [];
    const pulled = { count: 0 };
    const feeder = new Feeder(2, () => queue.length);
    const done = feeder.feed(lines(100, pulled), (spec) => queue.push(spec));
    await flush();
    feeder.stop();
    await done;
    expect(queue).toHaveLength(2);
    expect(pulled.count).toBeLessThanOrEqual(3);
  });
});
