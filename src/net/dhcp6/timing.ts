// Retransmission per RFC 8415 §15: RT starts at IRT (±10 %), doubles each time (±10 %), is
// capped at MRT (±10 %), and stops after MRC transmissions; the caller's deadline always wins.
// docs/net-dhcp.md §9.

export interface Retrans {
  /** Initial retransmission time, ms. */
  readonly irt: number;
  /** Maximum retransmission time, ms (0: none). */
  readonly mrt: number;
  /** Maximum transmissions (0: unlimited). */
  readonly mrc: number;
}

/** RFC 8415 §7.6, in ms. */
export const SOLICIT: Retrans = { irt: 1000, mrt: 3_600_000, mrc: 0 };
export const REQUEST: Retrans = { irt: 1000, mrt: 30_000, mrc: 10 };
export const INFORMATION_REQUEST: Retrans = { irt: 1000, mrt: 3_600_000, mrc: 0 };
/** SOL_MAX_DELAY and INF_MAX_DELAY: the first message waits a random 0..1 s. */
export const MAX_FIRST_DELAY_MS = 1000;

/**
 * The next RT after `prev` (undefined: the first). `rand` is uniform in [0, 1); the first
 * Solicit's RT must exceed IRT (RFC 8415 §18.2.1), hence `positiveFirst`.
 */
export function nextRt(r: Retrans, prev: number | undefined, rand: number, positiveFirst = false): number {
  const jitter = (base: number, positive: boolean) => base * (positive ? rand * 0.1 : (rand - 0.5) * 0.2);
  if (prev === undefined) {
    const first = r.irt + jitter(r.irt, positiveFirst);
    return positiveFirst && first <= r.irt ? r.irt + 1 : first;
  }
  const rt = 2 * prev + jitter(prev, false);
  return r.mrt > 0 && rt > r.mrt ? r.mrt + jitter(r.mrt, false) : rt;
}
