import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { identify, stopLeftoverGroups } from '../../src/exec/leftovers.js';
import { bootId, procStat } from '../../src/exec/proc.js';
import { isGone, waitFor } from './helpers.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** A process group of its own, led by `sh -c script`. */
function group(script: string): ChildProcess & { pid: number } {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('sh did not start');
  started.push(child.pid);
  return child as ChildProcess & { pid: number };
}

describe.runIf(process.platform === 'linux')('which recorded groups --resume may signal', () => {
  it('signals only a group whose leader runs with the recorded boot and start time', async () => {
    const g = group('sleep 30');
    const start = procStat(g.pid)?.startTicks;
    const boot = bootId();
    expect(identify({ pid: g.pid, boot, start })).toBe('ours');
    expect(identify({ pid: g.pid, boot, start: (start ?? 0) + 1 })).toBe('gone'); // recycled pid
    expect(identify({ pid: g.pid, boot: 'another-boot', start })).toBe('gone');
    expect(identify({ pid: g.pid, boot })).toBe('unsure'); // no start time recorded
    expect(identify({ pid: g.pid, start })).toBe('unsure'); // no boot id recorded
    const { stopped, unsure } = await stopLeftoverGroups([{ pid: g.pid, boot, start }], 5000);
    expect(stopped).toEqual([g.pid]);
    expect(unsure).toEqual([]);
    expect(await waitFor(() => isGone(g.pid))).toBe(true);
  });

  it('never signals a live group whose leader is gone: the pid may have been reused', async () => {
    const g = group('sleep 30 & exit 0');
    const start = procStat(g.pid)?.startTicks;
    await new Promise<void>((resolve) => g.once('exit', () => resolve()));
    // the leader exited and was reaped; its background sleep still holds the group
    expect(await waitFor(() => procStat(g.pid) === undefined)).toBe(true);
    const boot = bootId();
    expect(identify({ pid: g.pid, boot, start })).toBe('unsure');
    const { stopped, unsure } = await stopLeftoverGroups([{ pid: g.pid, boot, start }], 100);
    expect(stopped).toEqual([]);
    expect(unsure).toEqual([g.pid]);
    expect(() => process.kill(-g.pid, 0)).not.toThrow(); // still there: not signalled
  });

  it('says gone for a group that has ended', async () => {
    const g = group('exit 0');
    const start = procStat(g.pid)?.startTicks;
    await new Promise<void>((resolve) => g.once('exit', () => resolve()));
    expect(identify({ pid: g.pid, boot: bootId(), start })).toBe('gone');
  });
});
