// Physical Region Page lists (NVMe 1.4c §4.3): where a command's data lies in guest memory. PRP1
// holds the first page (it may start inside it, dword-aligned); PRP2 the second page when the
// transfer ends there, else a list of page pointers, whose last entry chains to the next list
// page when more entries follow. Every page must lie in guest RAM; a bad pointer fails the
// command, never the VMM.
import type { GuestMemory } from '../memory';
import { DATA_TRANSFER_ERROR, INVALID_FIELD, INVALID_PRP_OFFSET, MAX_TRANSFER, PAGE_SIZE, type Status } from './spec';

const ENTRY = 8;
const PER_PAGE = PAGE_SIZE / ENTRY;

/** The guest's memory a transfer of `len` bytes covers, in order, or why there is none. */
export function prpSegments(
  mem: GuestMemory,
  prp1: number,
  prp2: number,
  len: number,
): { readonly ok: true; readonly segments: Uint8Array[] } | { readonly ok: false; readonly status: Status } {
  if (len <= 0) return { ok: true, segments: [] };
  if (len > MAX_TRANSFER) return { ok: false, status: INVALID_FIELD };
  if (prp1 % 4) return { ok: false, status: INVALID_PRP_OFFSET };
  const segments: Uint8Array[] = [];
  const take = (gpa: number, n: number): boolean => {
    const view = mem.slice(gpa, n);
    if (!view) return false;
    segments.push(view);
    return true;
  };
  const first = Math.min(len, PAGE_SIZE - (prp1 % PAGE_SIZE));
  if (!take(prp1, first)) return { ok: false, status: DATA_TRANSFER_ERROR };
  let left = len - first;
  if (left === 0) return { ok: true, segments };
  if (left <= PAGE_SIZE) {
    if (prp2 % PAGE_SIZE) return { ok: false, status: INVALID_PRP_OFFSET };
    return take(prp2, left) ? { ok: true, segments } : { ok: false, status: DATA_TRANSFER_ERROR };
  }
  // A list: it may start inside its page (8-byte aligned); entries run to the page's end.
  if (prp2 % ENTRY) return { ok: false, status: INVALID_PRP_OFFSET };
  let list = prp2;
  // The list never needs more pages than MAX_TRANSFER does, so the walk is bounded.
  for (let pages = 0; left > 0; pages++) {
    if (pages > MAX_TRANSFER / PAGE_SIZE) return { ok: false, status: INVALID_FIELD };
    const slots = PER_PAGE - (list % PAGE_SIZE) / ENTRY;
    const raw = mem.slice(list, slots * ENTRY);
    if (!raw) return { ok: false, status: DATA_TRANSFER_ERROR };
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const need = Math.ceil(left / PAGE_SIZE);
    const direct = need <= slots ? need : slots - 1; // the last slot chains when more follow
    for (let i = 0; i < direct; i++) {
      const page = Number(v.getBigUint64(i * ENTRY, true));
      if (page % PAGE_SIZE) return { ok: false, status: INVALID_PRP_OFFSET };
      const n = Math.min(left, PAGE_SIZE);
      if (!take(page, n)) return { ok: false, status: DATA_TRANSFER_ERROR };
      left -= n;
    }
    if (left > 0) {
      list = Number(v.getBigUint64((slots - 1) * ENTRY, true));
      if (list % PAGE_SIZE) return { ok: false, status: INVALID_PRP_OFFSET };
    }
  }
  return { ok: true, segments };
}

/** Copies `src` into the segments (a controller-to-host transfer of a data structure). */
export function scatter(segments: readonly Uint8Array[], src: Uint8Array): void {
  let off = 0;
  for (const s of segments) {
    const n = Math.min(s.length, src.length - off);
    if (n <= 0) {
      s.fill(0);
      continue;
    }
    s.set(src.subarray(off, off + n));
    if (n < s.length) s.fill(0, n);
    off += n;
  }
}
