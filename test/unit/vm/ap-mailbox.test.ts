// The mailbox through which an AP's thread hands an exit to vCPU 0's thread (src/vm/ap-mailbox.ts):
// the AP posts and sleeps until served; stopping releases it without service. The "kick" callback
// stands in for vCPU 0's thread here: it runs after the request is visible, as KVM_EXIT_INTR
// would let vCPU 0 see it.
import { describe, expect, it } from 'vitest';
import { ApMailbox } from '../../../src/vm/ap-mailbox';

describe('AP mailbox', () => {
  it('an AP exit is pending until vCPU 0 takes it; completing it wakes the AP', () => {
    const mb = new ApMailbox();
    const seen: number[][] = [];
    const served = mb.forward(3, () => {
      expect(mb.hasPending()).toBe(true);
      const pending = mb.takePending();
      seen.push(pending);
      expect(mb.hasPending()).toBe(false);
      for (const i of pending) mb.complete(i);
    });
    expect(served).toBe(true);
    expect(seen).toEqual([[3]]);
    expect(mb.forwarded).toBe(1);
    // The slot is idle again: the next exit goes through the same way.
    expect(mb.forward(3, () => mb.takePending().forEach((i) => mb.complete(i)))).toBe(true);
    expect(mb.forwarded).toBe(2);
  });

  it('several APs wait at once; each is served by index', () => {
    const mb = new ApMailbox(new SharedArrayBuffer(4 * 64));
    const other = new ApMailbox(mb.sab); // the same memory, as another thread maps it
    let second: number[] = [];
    mb.forward(1, () => {
      // While AP 1 waits, AP 2 posts too; vCPU 0 then takes both.
      expect(
        other.forward(2, () => {
          second = other.takePending();
          for (const i of second) other.complete(i);
        }),
      ).toBe(true);
    });
    expect(second).toEqual([1, 2]);
  });

  it('stopping releases a waiting AP without serving it, and refuses new exits', () => {
    const mb = new ApMailbox();
    expect(mb.forward(1, () => mb.stopAll())).toBe(false);
    expect(mb.stopping).toBe(true);
    let kicked = false;
    expect(
      mb.forward(2, () => {
        kicked = true;
      }),
    ).toBe(false);
    expect(kicked).toBe(false);
  });
});
