// NetFileSystem (docs/net-bootfiles.md §5): network kernels and initrds read through planBoot and
// materialize exactly like disk ones. A pxelinux entry over an in-memory Fetch serving the host's
// real kernel becomes a kexec plan with the right files and command line, and the sealed fds
// hold the served bytes; a missing file is ENOENT naming the URL; paths round-trip.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import type { MenuEntry, SourceEntry } from '../../../src/discovery/model';
import { FsError } from '../../../src/discovery/fs/types';
import { materialize } from '../../../src/kexec/load';
import { planBoot } from '../../../src/kexec/plan';
import { combineNetMenus, netMenu } from '../../../src/net/boot';
import { netbootEntries } from '../../../src/net/entries';
import { NetFileSystem, pathToUrl, urlToPath } from '../../../src/net/netfs';
import { NetError } from '../../../src/net/types';
import { buildUki } from '../../fixtures/uki';
import { LEASE, memFetch } from './memfetch';

const kernel = new Uint8Array(fs.readFileSync(hostKernel().vmlinuz));
const initrd = new Uint8Array(Buffer.from('070701 not really a cpio, but bytes are bytes\n'));
const B = 'tftp://192.0.2.1/boot/';

function menuEntry(e: SourceEntry): MenuEntry {
  return { ...e, id: e.sourceId, displayTitle: e.title, index: 0, default: true };
}
function readFd(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const b = Buffer.alloc(size);
  let off = 0;
  while (off < size) off += fs.readSync(fd, b, off, size - off, off);
  return b;
}

describe('paths stand for URLs', () => {
  it.each([
    'tftp://192.0.2.1/boot/vmlinuz',
    'http://192.0.2.1:8080/a/b?x=1&y=2',
    'https://[2001:db8::1]/k',
    'http://192.0.2.1/%20space',
  ])('%s round-trips', (u) => {
    expect(pathToUrl(urlToPath(u))).toBe(u);
  });
  it.each([
    ['http://192.0.2.1/a//b', '/http/192.0.2.1/%/%2Fa%2F%2Fb'],
    ['http://192.0.2.1/menu/', '/http/192.0.2.1/%/%2Fmenu%2F'],
    ['http://192.0.2.1/', '/http/192.0.2.1/%/%2F'],
    ['http://192.0.2.1/%/x', '/http/192.0.2.1/%/%2F%25%2Fx'],
    ['tftp://192.0.2.1/boot/vmlinuz', '/tftp/192.0.2.1/boot/vmlinuz'],
  ])('%s is named %s (an escaped component where the plain path would not lead back)', (u, p) => {
    expect(urlToPath(u)).toBe(p);
    expect(pathToUrl(p)).toBe(u);
  });
  it('a URL too long to name as a file is a NetError', () => {
    expect(() => urlToPath(`http://192.0.2.1//${'%'.repeat(3000)}`)).toThrow(NetError);
  });
  it('stat fetches; a missing file is ENOENT naming the URL; readdir is refused honestly', async () => {
    const m = memFetch({ [`${B}k`]: 'abc' });
    const nfs = new NetFileSystem('net:eth0', m.fetch, { maxBytes: 1 << 20 });
    expect(await nfs.stat(urlToPath(`${B}k`))).toEqual({ kind: 'file', size: 3 });
    const e = await nfs.stat(urlToPath(`${B}nope`)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe('ENOENT');
    expect((e as FsError).message).toContain(`${B}nope`);
    await expect(nfs.readdir('/tftp/192.0.2.1/boot')).rejects.toThrow(/no directory listing/);
    // One fetch per file, however often it is read.
    const h = await nfs.open(urlToPath(`${B}k`));
    expect(Buffer.from(await h.read(1, 10)).toString()).toBe('bc');
    expect(m.asked).toEqual([`${B}k`, `${B}nope`]);
  });
  it('a file over maxBytes is EIO naming the limit', async () => {
    const nfs = new NetFileSystem('net:eth0', memFetch({ [`${B}big`]: 'x'.repeat(100) }).fetch, { maxBytes: 10 });
    await expect(nfs.open(urlToPath(`${B}big`))).rejects.toThrow(/100 bytes > limit 10/);
  });
});

describe('a network entry through planBoot and materialize', () => {
  it('pxelinux label → plan with the served kernel, initrd and BOOTIF=; the fds hold the served bytes', async () => {
    const m = memFetch({
      [`${B}pxelinux.0`]: 'pxelinux',
      [`${B}pxelinux.cfg/default`]: 'LABEL linux\n KERNEL k/vmlinuz\n APPEND initrd=k/initrd.img quiet\n IPAPPEND 2\n',
      [`${B}k/vmlinuz`]: kernel,
      [`${B}k/initrd.img`]: initrd,
    });
    const r = await netbootEntries(LEASE, m.fetch);
    expect(r.entries).toHaveLength(1);
    const lookup = (id: string) => (id === r.fs.fsId ? r.fs : undefined);
    const plan = await planBoot(menuEntry(r.entries[0]!), lookup);
    expect(plan.kernel.label).toBe(`net:eth0:/tftp/192.0.2.1/boot/k/vmlinuz`);
    expect(plan.kernel.size).toBe(kernel.length);
    expect(plan.initrds.map((f) => [f.label, f.size])).toEqual([
      [`net:eth0:/tftp/192.0.2.1/boot/k/initrd.img`, initrd.length],
    ]);
    expect(plan.cmdline.split(' ')).toEqual(expect.arrayContaining(['quiet', 'BOOTIF=01-52-54-00-ab-cd-ef']));
    expect(plan.cmdline).not.toContain('initrd=');
    const mat = await materialize(plan, lookup);
    try {
      expect(readFd(mat.kernelFd).equals(Buffer.from(kernel))).toBe(true);
      expect(readFd(mat.initrdFd).equals(Buffer.from(initrd))).toBe(true);
    } finally {
      mat.close();
    }
    // Each file was fetched once: at planning; materialize read the cache.
    expect(m.asked.filter((u) => u === `${B}k/vmlinuz`)).toHaveLength(1);
  });
  it('a bzImage named by DHCP is one Linux entry; a missing kernel refuses the plan naming its URL', async () => {
    const ok = await netbootEntries({ ...LEASE, bootUrl: `${B}vmlinuz` }, memFetch({ [`${B}vmlinuz`]: kernel }).fetch);
    expect(ok.entries.map((e) => e.title)).toEqual(['Net: Linux vmlinuz (192.0.2.1)']);
    const plan = await planBoot(menuEntry(ok.entries[0]!), (id) => (id === ok.fs.fsId ? ok.fs : undefined));
    expect(plan.kernel.size).toBe(kernel.length);

    const m = memFetch({ [`${B}pxelinux.0`]: 'x', [`${B}pxelinux.cfg/default`]: 'LABEL gone\n KERNEL gone/vmlinuz\n' });
    const r = await netbootEntries(LEASE, m.fetch);
    const err = await planBoot(menuEntry(r.entries[0]!), (id) => (id === r.fs.fsId ? r.fs : undefined)).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toContain(`${B}gone/vmlinuz`);
  });
  it('a UKI named by DHCP is split as on disk: kernel from .linux, command line from .cmdline', async () => {
    const uki = new Uint8Array(
      fs.readFileSync(
        buildUki({ osrel: 'ID=t\n', cmdline: 'root=/dev/nfs quiet', linux: { file: hostKernel().vmlinuz } }),
      ),
    );
    const r = await netbootEntries({ ...LEASE, bootUrl: `${B}linux.efi` }, memFetch({ [`${B}linux.efi`]: uki }).fetch);
    expect(r.entries.map((e) => [e.title, e.status.ok && e.status.target.kind])).toEqual([
      ['Net: UKI linux.efi (192.0.2.1)', 'uki'],
    ]);
    const plan = await planBoot(menuEntry(r.entries[0]!), (id) => (id === r.fs.fsId ? r.fs : undefined));
    expect(plan.kernel.label).toBe('net:eth0:/tftp/192.0.2.1/boot/linux.efi#.linux');
    expect(plan.kernel.size).toBe(kernel.length);
    expect(plan.cmdline).toContain('root=/dev/nfs quiet');
  });
});

describe('combineNetMenus (a NIC plugged in later adds its menu after the first)', () => {
  const cfg = 'DEFAULT linux\nLABEL linux\n KERNEL k/vmlinuz\n APPEND quiet\n';
  it('keeps the first menu default, renames a taken id after its filesystem, finds both filesystems', async () => {
    const m = memFetch({ [`${B}pxelinux.0`]: 'x', [`${B}pxelinux.cfg/default`]: cfg, [`${B}k/vmlinuz`]: kernel });
    const first = await netMenu([LEASE], m.fetch);
    const late = await netMenu([{ ...LEASE, iface: 'eth1', mac: '52:54:00:ab:cd:01' }], m.fetch);
    expect(first.entries).toHaveLength(1);
    const both = combineNetMenus([first, late])!;
    const [a, b] = both.entries;
    expect(both.entries).toHaveLength(2);
    expect(a!.id).toBe(first.entries[0]!.id);
    expect(b!.id).toBe(late.entries[0]!.id);
    expect(b!.origin.fsId).toBe('net:eth1');
    expect(both.entries.map((e) => [e.index, e.default])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(both.settings.defaultId).toBe(a!.id);
    expect(both.fs('net:eth0')).toBe(first.fs('net:eth0'));
    expect(both.fs('net:eth1')).toBe(late.fs('net:eth1'));
    expect(both.sources.map((s) => s.lease.iface)).toEqual(['eth0', 'eth1']);
    expect(combineNetMenus([first])).toBe(first);
    // The same interface's menu twice (ids taken): the second copy is renamed after its filesystem.
    const twice = combineNetMenus([first, first])!;
    expect(twice.entries.map((e) => e.id)).toEqual([a!.id, `${a!.id}@net:eth0`]);
    expect(twice.entries.filter((e) => e.default).map((e) => e.id)).toEqual([a!.id]);
    expect(combineNetMenus([])).toBeUndefined();
  });
  it('takes the default from the first menu that has a bootable one', async () => {
    const empty = await netMenu([], memFetch({}).fetch);
    const m = memFetch({ [`${B}pxelinux.0`]: 'x', [`${B}pxelinux.cfg/default`]: cfg, [`${B}k/vmlinuz`]: kernel });
    const late = await netMenu([{ ...LEASE, iface: 'eth1' }], m.fetch);
    const both = combineNetMenus([empty, late])!;
    expect(both.settings.defaultId).toBe(late.entries[0]!.id);
    expect(both.entries[0]!.default).toBe(true);
  });
});
