// The boot dispatch (src/boot/plan.ts) on real disk images: a Linux entry gets a kexec plan; a
// BLS `efi` entry a VM plan (its whole disk, overlay or write-through, Boot0000 from the GPT or
// MBR that sgdisk/sfdisk wrote, the entry's options as LoadOptions, Debian's OVMF found through
// the ovmf package); a host that cannot run the VM, a logical MBR partition and a missing
// firmware an unavailable verdict with the reason. The KVM verdict is passed in here (this file
// tests the planning); kvm-check.test.ts and kvm-hidden.test.ts test the check itself.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { discover, type DiscoverySession } from '../../../src/discovery/discover';
import type { MenuEntry } from '../../../src/discovery/model';
import { describe as describePlan, plan, type PlanContext } from '../../../src/boot/plan';
import { findOvmf } from '../../../src/vm/firmware';
import { EFI_OPTIONS, EFI_PARTUUID, efiGptDisk, efiMbrDisk } from '../../fixtures/efi-disks';
import { sha256File } from '../../fixtures/images';

const KVM_OK = () => ({ ok: true as const, device: '/dev/kvm' });
const sessions: DiscoverySession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.close();
});

async function entries(img: string): Promise<{ ctx: PlanContext; byId: (id: string) => MenuEntry }> {
  const s = await discover({ disks: [img] });
  sessions.push(s);
  const ctx: PlanContext = { lookup: (id) => s.fs(id), devices: s.result.devices, kvm: KVM_OK };
  return {
    ctx,
    byId: (id) => {
      const e = s.result.entries.find((x) => x.id === id);
      if (!e) throw new Error(`no ${id} in ${s.result.entries.map((x) => x.id).join(', ')}`);
      return e;
    },
  };
}

const sgdisk = (img: string, n: number) => execFileSync('sgdisk', ['-i', String(n), img], { encoding: 'utf8' });

describe('plan(): one dispatch for every entry kind', () => {
  it('a Linux entry: a kexec plan', async () => {
    const { ctx, byId } = await entries(efiGptDisk());
    const p = await plan(byId('linux.conf'), ctx);
    expect(p.kind).toBe('kexec');
    if (p.kind === 'kexec') expect(p.kexec.kernel.label).toBe(`${p.kexec.kernel.fsId}:/vmlinuz`);
  });

  it('an efi entry on GPT: VM disk 0 is the whole disk behind the overlay, Boot0000 names the loader', async () => {
    const img = efiGptDisk();
    const before = sha256File(img);
    const { ctx, byId } = await entries(img);
    const p = await plan(byId('tendril-efi.conf'), { ...ctx, vm: { cpus: 3, ramBytes: 1 << 30 } });
    if (p.kind !== 'vm') throw new Error(`expected a VM plan, got ${JSON.stringify(p)}`);
    const info = sgdisk(img, 2);
    const start = Number(/First sector: (\d+)/.exec(info)?.[1]);
    const size = Number(/Partition size: (\d+) sectors/.exec(info)?.[1]);
    const hd = `HD(2,GPT,${EFI_PARTUUID.toUpperCase()},0x${start.toString(16)},0x${size.toString(16)})`;
    expect(p.bootVariable).toEqual({
      name: 'Boot0000',
      devicePath: `${hd}/\\EFI\\tendril\\marker.efi`,
      loadOptions: EFI_OPTIONS,
    });
    expect(p.disks).toEqual([
      {
        path: img,
        mode: 'cow',
        iface: 'virtio',
        ifaceReason: 'auto',
        holds: `${path.basename(img)}:2:/EFI/tendril/marker.efi`,
      },
    ]);
    expect(p.firmware.code).toBe(findOvmf().code);
    expect(p.firmware.varsTemplate).toBe(findOvmf().vars);
    expect(p.variables).toEqual({ kind: 'memory' });
    expect(p.options).toMatchObject({
      disks: [{ path: img, mode: 'cow' }],
      loader: { disk: 0, partition: 2, path: '\\EFI\\tendril\\marker.efi' },
      loaderArgs: EFI_OPTIONS,
      cpus: 3,
      ramBytes: 1 << 30,
      secureBoot: false,
    });
    const text = await describePlan(p, ctx.lookup);
    expect(text).toContain(`boot variable: Boot0000 = ${hd}/\\\\EFI\\\\tendril\\\\marker.efi; BootOrder = 0000`);
    expect(text).toContain(`disk 0: ${img} read-only, guest writes go to an in-memory copy-on-write overlay`);
    expect(text).toContain('vCPUs: 3\nmemory: 1 GiB\n');
    expect(sha256File(img)).toBe(before);
  });

  it('write-through, --vars, --append and --cmdline reach the plan', async () => {
    const { ctx, byId } = await entries(efiGptDisk());
    const e = byId('tendril-efi.conf');
    const p = await plan(e, { ...ctx, vm: { writeThrough: true, vars: '/tmp/v.fd', append: 'x=1' } });
    if (p.kind !== 'vm') throw new Error(p.kind);
    expect(p.disks[0]!.mode).toBe('rw');
    expect(p.options.disks[0]!.mode).toBe('rw');
    expect(p.variables).toEqual({ kind: 'file', path: '/tmp/v.fd' });
    expect(p.bootVariable.loadOptions).toBe(`${EFI_OPTIONS} x=1`);
    const q = await plan(e, { ...ctx, vm: { replace: 'only' } });
    expect(q.kind === 'vm' && q.bootVariable.loadOptions).toBe('only');
    expect(await describePlan(p, ctx.lookup)).toMatch(/disk 0: .* WRITE-THROUGH/);
  });

  it('an efi entry on a primary MBR partition: HD(1,MBR,<disk signature>,...)', async () => {
    const { ctx, byId } = await entries(efiMbrDisk());
    const p = await plan(byId('tendril-efi.conf'), ctx);
    if (p.kind !== 'vm') throw new Error(JSON.stringify(p));
    expect(p.bootVariable.devicePath).toBe('HD(1,MBR,0x7E57D15C,0x800,0x20000)/\\EFI\\tendril\\marker.efi');
  });

  it('a logical MBR partition: unavailable, with the reason', async () => {
    const img = efiMbrDisk(true);
    const { ctx, byId } = await entries(img);
    const p = await plan(byId('tendril-efi.conf'), ctx);
    expect(p).toMatchObject({ kind: 'unavailable', entryId: 'tendril-efi.conf' });
    expect(p.kind === 'unavailable' && p.reason).toBe(
      `no VM plan: ${img}: partition 5 is a logical MBR partition; tendril can name only a GPT or a primary MBR partition in a boot variable`,
    );
  });

  it('KVM that cannot run firmware: unavailable with its reason, and the VM it would have run', async () => {
    const { ctx, byId } = await entries(efiGptDisk());
    const p = await plan(byId('tendril-efi.conf'), {
      ...ctx,
      kvm: () => ({ ok: false, device: '/dev/kvm', reason: '/dev/kvm: stat: ENOENT (no such file)' }),
    });
    if (p.kind !== 'unavailable') throw new Error(p.kind);
    expect(p.reason).toBe('the VM cannot run here: /dev/kvm: stat: ENOENT (no such file)');
    expect(p.vm?.kind).toBe('vm');
    const text = await describePlan(p, ctx.lookup);
    expect(text).toMatch(/^entry: tendril-efi\.conf \(Tendril EFI program\)\nunavailable: the VM cannot run here: /);
    expect(text).toContain('the VM it would run:\n  firmware: ');
  });

  it('a firmware that is not there: unavailable, naming the file', async () => {
    const { ctx, byId } = await entries(efiGptDisk());
    const p = await plan(byId('tendril-efi.conf'), { ...ctx, vm: { firmware: '/nonexistent/OVMF.fd' } });
    expect(p.kind === 'unavailable' && p.reason).toMatch(/^no VM plan: firmware \/nonexistent\/OVMF\.fd: ENOENT/);
    expect(fs.existsSync('/nonexistent/OVMF.fd')).toBe(false);
  });
});
