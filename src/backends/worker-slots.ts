import { createStartGate, type GateOptions, type SystemProbe } from '../core/gates.js';
import { Slots } from '../core/slots.js';

/**
 * A worker's `-j`: at most `size` jobs at once across every queue it serves (BullMQ's
 * `concurrency` is per queue), handed out in request order. Before a slot is handed
 * over, the worker's start gates (`--delay`, `--max-load`, `--min-free-mem`, read on
 * this machine) must be open.
 */
export class WorkerSlots {
  private readonly numbers = new Slots();
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly gate: ReturnType<typeof createStartGate>;
  private gateChain: Promise<void> = Promise.resolve();

  constructor(
    readonly size: number,
    gate: GateOptions = {},
    probe?: SystemProbe,
  ) {
    this.gate = createStartGate(gate, probe);
  }

  get inUse(): number {
    return this.used;
  }

  /** Resolves with a free slot (0-based) once one is free and the gates are open. */
  async acquire(): Promise<number> {
    while (this.used >= this.size) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.used++;
    const slot = this.numbers.take();
    // one job at a time passes the gates, so `--delay` spaces every start of this worker
    const passed = this.gateChain.then(() => this.waitForGate());
    this.gateChain = passed.catch(() => {});
    await passed;
    return slot;
  }

  release(slot: number): void {
    this.numbers.release(slot);
    this.used--;
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
