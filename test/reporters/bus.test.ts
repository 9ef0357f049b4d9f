import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/reporters/bus.js';

const summary = {
  total: 1,
  succeeded: 1,
  cached: 0,
  failed: 0,
  timed_out: 0,
  skipped: 0,
  cancelled: 0,
};

describe('EventBus', () => {
  it('an end-of-run promise that fails before flush is asked for is collected, not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // the output reporter's end fails at once when the logs it had to show were lost
      const bus = new EventBus([{ onRunEnd: () => Promise.reject(new Error('lost')) }]);
      bus.emit('run_end', { runId: 'r', summary, durationMs: 1, exitCode: 0 });
      // the CLI asks for flush after its own awaits: Node has looked for unhandled ones by then
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const ended = await bus.flush();
      expect(ended.map((err) => err.message)).toEqual(['lost']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
