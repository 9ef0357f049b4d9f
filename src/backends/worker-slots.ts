import { createStartGate, type GateOptions, type SystemProbe } from '../core/gates.js';

/**
 * A worker's `-j`: at most `size` jobs at once across every queue it serves (BullMQ's
 * `concurrency` is per queue), handed out in request order. Before a slot is handed
 * over, the worker's start gates (`--delay`, `--max-load`, `--min-free-mem`, read on
 * this machine) must be open.
 */
export class WorkerSlots {
  private readonly busy: boolean[];
  private readonly waiting: Array<() => void> = [];
  private readonly gate: ReturnType<typeof createStartGate>;
  private gateChain: Promise<void> = Promise.resolve();

  constructor(
    readonly size: number,
    gate: GateOptions = {},
    probe?: SystemProbe,
  ) {
    this.busy = new Array<boolean>(size).fill(false);
    this.gate = createStartGate(gate, probe);
  }

  get inUse(): number {
    return this.busy.filter(Boolean).length;
  }

  /** Resolves with a free slot (0-based) once one is free and the gates are open. */
  async acquire(): Promise<number> {
    let slot = this.busy.indexOf(false);
    while (slot === -1) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      slot = this.busy.indexOf(false);
    }
    this.busy[slot] = true;
    // one job at a time passes the gates, so `--delay` spaces every start of this worker
    const passed = this.gateChain.then(() => this.waitForGate());
    this.gateChain = passed.catch(() => {});
    await passed;
    return slot;
  }

  release(slot: number): void {
    this.busy[slot] = false;
    this.waiting.shift()?.();
  }

  private async waitForGate(): Promise<void> {
    for (;;) {
      const wait = this.gate.check(Date.now());
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.gate.started(Date.now());
  }
}
