// The classic BPF program the DHCP socket attaches (docs/net-dhcp.md §6): keep unfragmented
// IPv4 UDP to port 68, drop everything else in the kernel. Offsets count from the IPv4 header,
// as an AF_PACKET/SOCK_DGRAM socket sees packets. Encoded as the kernel's struct sock_filter
// array in host byte order (linux/filter.h).

import * as os from 'node:os';

export interface BpfInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export const BPF = {
  LD_B_ABS: 0x30,
  LD_H_ABS: 0x28,
  LD_H_IND: 0x48,
  LDX_B_MSH: 0xb1,
  JEQ_K: 0x15,
  JSET_K: 0x45,
  RET_K: 0x06,
} as const;

const ACCEPT = 0x40000;

/** UDP (protocol 17), no fragment (MF clear, offset 0), destination port `port`. */
export function udpPortFilter(port: number): BpfInsn[] {
  return [
    { code: BPF.LD_B_ABS, jt: 0, jf: 0, k: 9 }, // 0: A = protocol
    { code: BPF.JEQ_K, jt: 0, jf: 6, k: 17 }, // 1: UDP? else drop
    { code: BPF.LD_H_ABS, jt: 0, jf: 0, k: 6 }, // 2: A = flags | fragment offset
    { code: BPF.JSET_K, jt: 4, jf: 0, k: 0x3fff }, // 3: MF or an offset: drop
    { code: BPF.LDX_B_MSH, jt: 0, jf: 0, k: 0 }, // 4: X = header length
    { code: BPF.LD_H_IND, jt: 0, jf: 0, k: 2 }, // 5: A = UDP destination port
    { code: BPF.JEQ_K, jt: 0, jf: 1, k: port }, // 6: ours? else drop
    { code: BPF.RET_K, jt: 0, jf: 0, k: ACCEPT }, // 7: keep the packet
    { code: BPF.RET_K, jt: 0, jf: 0, k: 0 }, // 8: drop
  ];
}

/** The program as struct sock_filter[] (u16 code, u8 jt, u8 jf, u32 k), host byte order. */
export function encodeBpf(prog: readonly BpfInsn[], littleEndian = os.endianness() === 'LE'): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const dv = new DataView(out.buffer);
  prog.forEach((i, n) => {
    dv.setUint16(n * 8, i.code, littleEndian);
    dv.setUint8(n * 8 + 2, i.jt);
    dv.setUint8(n * 8 + 3, i.jf);
    dv.setUint32(n * 8 + 4, i.k, littleEndian);
  });
  return out;
}
