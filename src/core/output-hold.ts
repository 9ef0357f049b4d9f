import type { Backpressure } from '../exec/types.js';

/** With output held back: when to look again, should the reader's catching up not be told. */
const OUTPUT_RECHECK_MS = 1000;

/**
 * The start gate of jobrun's own output (see `Backpressure`): while it falls behind its
 * reader, no job starts (locally) nor is handed to a backend's workers; `onRoom` is
 * called once the reader caught up.
 */
export class OutputHold {
  private held = false;

  constructor(
    private readonly backpressure: Backpressure | undefined,
    private readonly onRoom: (() => void) | undefined,
  ) {}

  /** 0 when the output lets a job start now, else milliseconds until a look again. */
  wait(): number {
    const { backpressure } = this;
    if (!backpressure?.blocked) return 0;
    if (!this.held) {
      this.held = true;
      backpressure.whenClear(() => {
        this.held = false;
        this.onRoom?.();
      });
    }
    return OUTPUT_RECHECK_MS;
  }
}
