/**
 * Numbered worker slots: `take` hands out the lowest free number, so a job's worker
 * label (`1`, `2`, … or `host:pid/1`) stays small and reused, as GNU parallel's `{%}`.
 */
export class Slots {
  private readonly busy: boolean[] = [];

  /** The lowest free slot, now taken. 0-based. */
  take(): number {
    let slot = this.busy.indexOf(false);
    if (slot === -1) slot = this.busy.push(true) - 1;
    this.busy[slot] = true;
    return slot;
  }

  release(slot: number): void {
    this.busy[slot] = false;
  }
}
