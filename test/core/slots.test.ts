import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/core/slots.js';

describe('Slots', () => {
  it('hands out the lowest free number and reuses released ones', () => {
    const slots = new Slots();
    expect([slots.take(), slots.take(), slots.take()]).toEqual([0, 1, 2]);
    slots.release(1);
    slots.release(0);
    expect(slots.take()).toBe(0);
    expect(slots.take()).toBe(1);
    expect(slots.take()).toBe(3);
  });
});
