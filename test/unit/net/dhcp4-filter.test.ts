// The socket filter program, run by a small classic-BPF interpreter over the opcodes it uses:
// DHCP replies pass, anything else (another port, TCP, a fragment, IP options shifting the UDP
// header) is judged correctly. That the kernel accepts and applies it is shown by the netns
// tests, whose DHCP replies arrive through it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BPF, encodeBpf, udpPortFilter, type BpfInsn } from '../../../src/net/dhcp4/filter';
import { buildUdpIp } from '../../../src/net/dhcp4/frame';

/** Runs `prog` over `pkt` as the kernel would (out-of-bounds loads drop the packet). */
function run(prog: readonly BpfInsn[], pkt: Uint8Array): number {
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const i = prog[pc]!;
    switch (i.code) {
      case BPF.LD_B_ABS:
        if (i.k >= pkt.length) return 0;
        a = pkt[i.k]!;
        break;
      case BPF.LD_H_ABS:
        if (i.k + 2 > pkt.length) return 0;
        a = (pkt[i.k]! << 8) | pkt[i.k + 1]!;
        break;
      case BPF.LD_H_IND:
        if (x + i.k + 2 > pkt.length) return 0;
        a = (pkt[x + i.k]! << 8) | pkt[x + i.k + 1]!;
        break;
      case BPF.LDX_B_MSH:
        if (i.k >= pkt.length) return 0;
        x = (pkt[i.k]! & 0x0f) * 4;
        break;
      case BPF.JEQ_K:
        pc += a === i.k ? i.jt : i.jf;
        break;
      case BPF.JSET_K:
        pc += (a & i.k) !== 0 ? i.jt : i.jf;
        break;
      case BPF.RET_K:
        return i.k;
      default:
        throw new Error(`opcode ${i.code} not interpreted`);
    }
  }
  throw new Error('fell off the end');
}

const prog = udpPortFilter(68);
const reply = (dstPort: number, payload = new Uint8Array(300)) =>
  buildUdpIp({ src: '192.0.2.1', dst: '192.0.2.100', srcPort: 67, dstPort, payload });

describe('the DHCP socket filter', () => {
  it('keeps UDP to port 68 and drops other ports', () => {
    expect(run(prog, reply(68))).toBeGreaterThan(0);
    expect(run(prog, reply(69))).toBe(0);
    expect(run(prog, reply(68 << 8))).toBe(0);
  });

  it('drops TCP and fragments, and finds the port behind IP options', () => {
    const tcp = reply(68);
    tcp[9] = 6;
    expect(run(prog, tcp)).toBe(0);
    const mf = reply(68);
    mf[6] = 0x20;
    expect(run(prog, mf)).toBe(0);
    const offset = reply(68);
    offset[7] = 1;
    expect(run(prog, offset)).toBe(0);
    // 4 bytes of IP options (IHL 6): the UDP header moves, and so does the port the filter reads.
    const base = reply(68);
    const withOpts = new Uint8Array(base.length + 4);
    withOpts.set(base.subarray(0, 20));
    withOpts.set(base.subarray(20), 24);
    withOpts[0] = 0x46;
    expect(run(prog, withOpts)).toBeGreaterThan(0);
    withOpts[24 + 3] = 69;
    expect(run(prog, withOpts)).toBe(0);
  });

  it('on random bytes, keeps exactly what a direct reading of the headers would', () => {
    const direct = (b: Uint8Array): boolean => {
      if (b.length < 10 || b[9] !== 17) return false;
      if ((((b[6]! << 8) | b[7]!) & 0x3fff) !== 0) return false;
      const ihl = (b[0]! & 0x0f) * 4;
      return ihl + 4 <= b.length && ((b[ihl + 2]! << 8) | b[ihl + 3]!) === 68;
    };
    const udpish = fc.uint8Array({ minLength: 0, maxLength: 80 }).map((b) => {
      // Often enough a UDP header with port 68 where the IHL puts it, so both answers occur.
      if (b.length >= 28 && b[1]! % 2 === 0) {
        b[9] = 17;
        const ihl = (b[0]! & 0x0f) * 4;
        if (ihl + 4 <= b.length) b[ihl + 3] = 68;
        if (ihl + 4 <= b.length) b[ihl + 2] = 0;
        b[6] = b[6]! & 0xc0;
        b[7] = 0;
      }
      return b;
    });
    fc.assert(
      fc.property(udpish, (b) => {
        expect(run(prog, b) > 0).toBe(direct(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('encodes struct sock_filter: u16 code, u8 jt, u8 jf, u32 k in host order', () => {
    const le = encodeBpf([{ code: BPF.JEQ_K, jt: 1, jf: 2, k: 0x01020304 }], true);
    expect([...le]).toEqual([0x15, 0, 1, 2, 4, 3, 2, 1]);
    const be = encodeBpf([{ code: BPF.JEQ_K, jt: 1, jf: 2, k: 0x01020304 }], false);
    expect([...be]).toEqual([0, 0x15, 1, 2, 1, 2, 3, 4]);
    expect(encodeBpf(prog).length).toBe(prog.length * 8);
  });
});
