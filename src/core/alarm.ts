import type { Clock } from './clock.js';

/**
 * One timer that calls `fire` at the earliest deadline asked for. A later request
 * never pushes back an earlier one, and an earlier one replaces a later: a gate that
 * opens in 900 ms is not kept waiting by an idle-shrink check due in 2 s.
 */
export class Alarm {
  private handle: unknown;
  private due = Infinity;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** Fire in `ms` milliseconds, unless already due sooner. */
  in(ms: number): void {
    const due = this.clock.now() + ms;
    if (due >= this.due) return;
    this.clear();
    this.due = due;
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      this.due = Infinity;
      this.fire();
    }, ms);
  }

  clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.handle = undefined;
    this.due = Infinity;
  }
}
