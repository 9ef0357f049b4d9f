import os from 'node:os';

/** Settings of the start gates, GNU parallel's `--delay`, `--load` and `--memfree`. */
export interface GateOptions {
  delayMs?: number;
  maxLoad?: number;
  minFreeMemBytes?: number;
}

/** Readings of the machine, injectable for tests. */
export interface SystemProbe {
  loadavg1(): number;
  freemem(): number;
}

const osProbe: SystemProbe = {
  loadavg1: () => os.loadavg()[0] ?? 0,
  freemem: () => os.freemem(),
};

/** How often a closed load or memory gate is looked at again. */
const GATE_RECHECK_MS = 1000;

/**
 * Decides whether a job may start now. Returns 0 when it may, else how many
 * milliseconds to wait before asking again.
 */
export function createStartGate(options: GateOptions, probe: SystemProbe = osProbe) {
  let lastStart = -Infinity;
  return {
    check(now: number): number {
      if (options.delayMs && now - lastStart < options.delayMs) {
        return lastStart + options.delayMs - now;
      }
      if (options.maxLoad !== undefined && probe.loadavg1() > options.maxLoad) {
        return GATE_RECHECK_MS;
      }
      if (options.minFreeMemBytes !== undefined && probe.freemem() < options.minFreeMemBytes) {
        return GATE_RECHECK_MS;
      }
      return 0;
    },
    started(now: number): void {
      lastStart = now;
    },
  };
}

export type StartGate = ReturnType<typeof createStartGate>;
