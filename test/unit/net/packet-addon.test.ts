// The AF_PACKET calls of the addon (native/src/net.c) on the loopback device: failures carry
// code/errno/syscall, arguments are checked, and a receive runs off the event loop and ends in
// a timeout (length 0) rather than blocking. The exchange itself is tested in netboot-netns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBpf } from '../../../src/net/dhcp4/filter';
import { ETH_P_IP, packetAttachFilter, packetClose, packetOpen, packetRecv, packetSend } from '../../../src/native/net';
import { isSyscallError } from '../../../src/native/sys';

// The loopback device is ifindex 1 in every namespace; nothing here is sent or configured on it.
const LO = 1;
let fd = -1;

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('packet-addon tests need root (AF_PACKET sockets need CAP_NET_RAW)');
  fd = packetOpen(LO, ETH_P_IP);
});

afterAll(() => {
  if (fd >= 0) packetClose(fd);
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('AF_PACKET addon calls', () => {
  it('binding to an interface that does not exist names bind and ENODEV', () => {
    const e = thrown(() => packetOpen(0x7ffffff0, ETH_P_IP));
    expect(isSyscallError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'ENODEV', syscall: 'bind(AF_PACKET)' });
  });

  it('checks its arguments', () => {
    expect(() => packetOpen(0, ETH_P_IP)).toThrow(TypeError);
    expect(() => packetOpen(LO, 0x10000)).toThrow(/ethertype must be in 0..65535/);
    expect(() => packetSend(fd, LO, new Uint8Array(5), new Uint8Array(20))).toThrow(/dstMac must be 6 bytes/);
    expect(() => packetRecv(fd, new Uint8Array(0), 10)).toThrow(/buf must not be empty/);
    expect(() => packetRecv(fd, new Uint8Array(10), 60_001)).toThrow(TypeError);
  });

  it('a receive with nothing to read resolves to length 0, and the event loop keeps running meanwhile', async () => {
    // A socket bound to an EtherType nothing uses, so no stray loopback traffic arrives.
    const quiet = packetOpen(LO, 0x88b5);
    try {
      const got = packetRecv(quiet, new Uint8Array(64), 300);
      // A receive that blocked the thread would already be settled when the loop gets to run.
      const first = await Promise.race([
        got.then(() => 'receive'),
        new Promise<string>((r) => setImmediate(() => r('event loop'))),
      ]);
      expect(first).toBe('event loop');
      expect(await got).toEqual({ length: 0, csumNotReady: false });
    } finally {
      packetClose(quiet);
    }
  });

  it('a socket filter must be whole instructions, and the kernel refuses a jump out of the program', () => {
    expect(() => packetAttachFilter(fd, new Uint8Array(12))).toThrow(/instructions of 8 bytes/);
    const wild = encodeBpf([{ code: 0x15, jt: 5, jf: 5, k: 0 }]);
    expect(thrown(() => packetAttachFilter(fd, wild))).toMatchObject({
      code: 'EINVAL',
      syscall: 'setsockopt(SO_ATTACH_FILTER)',
    });
  });

  it('a closed descriptor fails with EBADF', () => {
    const x = packetOpen(LO, 0x88b5);
    packetClose(x);
    expect(thrown(() => packetClose(x))).toMatchObject({ code: 'EBADF', syscall: 'close' });
  });
});
