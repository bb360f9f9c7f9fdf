// A UKI built by objcopy from systemd's stub and Debian's kernel, planned for kexec: the
// .linux range must be the exact kernel bytes, initrd pieces in systemd-stub order.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { MenuEntry } from '../../../src/discovery/model';
import { KexecError } from '../../../src/kexec/errors';
import { materialize } from '../../../src/kexec/load';
import { planBoot, sha256Of } from '../../../src/kexec/plan';
import { KERNEL, buildAddon, buildUki, kernelRelease } from '../../fixtures/uki';

let dir: string;
const ucode = Buffer.from('ucode-bytes-123'); // 15 bytes: padding needed
const initrd = Buffer.from('main-initrd');
const addonInitrd = Buffer.from('addon-initrd!');

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-uki-plan-'));
  fs.mkdirSync(path.join(dir, 'EFI/Linux/t.efi.extra.d'), { recursive: true });
  fs.copyFileSync(
    buildUki({ cmdline: 'root=/dev/x ro', uname: kernelRelease(), ucode, initrd }),
    path.join(dir, 'EFI/Linux/t.efi'),
  );
  fs.copyFileSync(
    buildAddon({ cmdline: 'addon=1', initrd: addonInitrd }),
    path.join(dir, 'EFI/Linux/t.efi.extra.d/a.addon.efi'),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function entry(over: Partial<{ cmdlineOverride: string }> = {}): MenuEntry {
  return {
    id: 't.efi',
    sourceId: 't.efi',
    index: 0,
    default: false,
    title: 'T',
    displayTitle: 'T',
    origin: { source: 'uki', fsId: 'esp:1', device: 'esp', partition: 1, file: '/EFI/Linux/t.efi' },
    status: {
      ok: true,
      target: {
        kind: 'uki',
        image: { fsId: 'esp:1', path: '/EFI/Linux/t.efi' },
        profile: 0,
        addons: [{ fsId: 'esp:1', path: '/EFI/Linux/t.efi.extra.d/a.addon.efi' }],
        ...over,
      },
    },
    diagnostics: [],
  };
}

describe('UKI kexec split', () => {
  it('plans .linux as the kernel and ucode, .initrd, add-on .initrd as the initrd', async () => {
    const esp = new HostDirFileSystem(dir, true);
    const lookup = () => esp;
    const plan = await planBoot(entry(), lookup, { ownConsoles: [] });
    expect(plan.kernel.label).toBe('esp:1:/EFI/Linux/t.efi#.linux');
    const kernelSha = execFileSync('sha256sum', [KERNEL], { encoding: 'utf8' }).split(' ')[0];
    expect(await sha256Of(plan.kernel, lookup)).toBe(kernelSha);
    expect(plan.initrds.map((f) => f.label.replace(/^.*#/, ''))).toEqual(['.ucode', '.initrd', '.initrd']);
    expect(plan.cmdline).toBe('root=/dev/x ro addon=1');
    const m = await materialize(plan, lookup);
    try {
      const got = Buffer.alloc(m.initrdSize);
      fs.readSync(m.initrdFd, got, 0, got.length, 0);
      const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
      expect(got.equals(Buffer.concat([pad(ucode), pad(initrd), addonInitrd]))).toBe(true);
    } finally {
      m.close();
    }
  });
  it('counts the .linux, .ucode, .initrd and add-on sections against MemAvailable (docs/kexec.md §4.2)', async () => {
    const esp = new HostDirFileSystem(dir, true);
    const plan = await planBoot(entry(), () => esp, { ownConsoles: [] });
    const err = await planBoot(entry(), () => esp, { memAvailable: () => plan.memory.needed - 1 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KexecError);
    const f = (err as KexecError).failure;
    const pad = (n: number) => n + ((4 - (n % 4)) % 4);
    expect(f).toMatchObject({
      syscall: 'plan',
      errno: 'ENOMEM',
      kernelSize: plan.kernel.size,
      initrdSize: pad(ucode.length) + pad(initrd.length) + addonInitrd.length,
    });
    expect(f.hint).toContain('the largest file is esp:1:/EFI/Linux/t.efi#.linux');
    expect((await planBoot(entry(), () => esp, { memAvailable: () => plan.memory.needed })).memory).toEqual({
      needed: plan.memory.needed,
      available: plan.memory.needed,
    });
  });
  it('entry options replace .cmdline; add-on cmdlines still append', async () => {
    const esp = new HostDirFileSystem(dir, true);
    const plan = await planBoot(entry({ cmdlineOverride: 'root=/dev/y' }), () => esp, { append: 'quiet' });
    expect(plan.cmdline).toBe('root=/dev/y addon=1 quiet');
  });
  it("under trust.policy = require the disk's options do not replace the signed .cmdline; --cmdline does", async () => {
    const esp = new HostDirFileSystem(dir, true);
    const e = entry({ cmdlineOverride: 'root=/dev/y init=/bin/sh' });
    const locked = await planBoot(e, () => esp, { lockUkiCmdline: true });
    expect(locked.cmdline).toBe('root=/dev/x ro addon=1');
    expect(locked.warnings).toContain(
      "the options of /EFI/Linux/t.efi are ignored: trust.policy = require keeps the UKI's signed .cmdline",
    );
    const operator = await planBoot(e, () => esp, { lockUkiCmdline: true, replace: 'root=/dev/z' });
    expect(operator.cmdline).toBe('root=/dev/z addon=1');
  });
});
