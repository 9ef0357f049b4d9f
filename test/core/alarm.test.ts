import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Alarm } from '../../src/core/alarm.js';
import { systemClock } from '../../src/core/clock.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Alarm', () => {
  it('fires once at the requested time', async () => {
    const fired: number[] = [];
    const alarm = new Alarm(systemClock, () => fired.push(Date.now()));
    const start = Date.now();
    alarm.in(300);
    await vi.advanceTimersByTimeAsync(299);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([start + 300]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fired).toHaveLength(1);
  });

  it('clear cancels a pending alarm', async () => {
    let fired = 0;
    const alarm = new Alarm(systemClock, () => fired++);
    alarm.in(100);
    alarm.clear();
    await vi.advanceTimersByTimeAsync(500);
    expect(fired).toBe(0);
  });
});

describe('Alarm deadlines', () => {
  it('keeps the earliest deadline: a sooner request replaces a later one, never the reverse', async () => {
    const fired: number[] = [];
    const start = Date.now();
    const alarm = new Alarm(systemClock, () => fired.push(Date.now() - start));
    alarm.in(2000);
    alarm.in(900);
    alarm.in(1500);
    await vi.advanceTimersByTimeAsync(3000);
    expect(fired).toEqual([900]);
  });
});
