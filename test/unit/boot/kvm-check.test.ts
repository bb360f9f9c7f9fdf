// The KVM availability check (src/boot/kvm-check.ts) against real device nodes: this host's
// /dev/kvm, a missing path, a file and another character device. The check is never mocked;
// only the path it looks at is chosen. test/unit/boot/kvm-hidden.test.ts hides /dev/kvm from
// bin/tendril.js itself in a mount namespace.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkKvm } from '../../../src/boot/kvm-check';
import { kvmWatcher } from '../../../src/boot/plan';

describe('checkKvm', () => {
  it('a missing device: ENOENT, named', () => {
    const v = checkKvm({ device: '/nonexistent/kvm' });
    expect(v).toMatchObject({ ok: false, device: '/nonexistent/kvm', absent: true });
    expect(!v.ok && v.reason).toMatch(/^\/nonexistent\/kvm: stat: ENOENT \(no such file\): this kernel offers no KVM/);
  });

  it('a regular file in its place is not KVM', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-kvm-')), 'kvm');
    fs.writeFileSync(f, '');
    const v = checkKvm({ device: f });
    expect(!v.ok && v.reason).toBe(`${f} is not a character device (a regular file): not KVM`);
  });

  it('another character device: its ioctl fails with ENOTTY', () => {
    const v = checkKvm({ device: '/dev/null' });
    expect(!v.ok && v.reason).toBe('/dev/null: ioctl KVM_GET_API_VERSION: ENOTTY (not a KVM device)');
  });

  it.skipIf(!fs.existsSync('/dev/kvm'))('this host: a verdict that matches its vendor module', () => {
    const v = checkKvm();
    // On the development hosts /dev/kvm is kvm_pvm (docs/testing.md): firmware cannot run there.
    if (
      fs.existsSync('/sys/module/kvm_pvm') &&
      !fs.existsSync('/sys/module/kvm_intel') &&
      !fs.existsSync('/sys/module/kvm_amd')
    )
      expect(!v.ok && v.reason).toMatch(/^\/dev\/kvm \(kvm_pvm\) cannot run UEFI firmware: .*KVM_EXIT_INTERNAL_ERROR/);
    // Elsewhere (the nested test guests: kvm_amd) the probe guest runs.
    else expect(v).toMatchObject({ ok: true, device: '/dev/kvm' });
  });
});

describe('kvmWatcher: asked again while the node is absent (kvm loads after the menu is up)', () => {
  it('a node that appears later is seen; a verdict about an existing node is kept', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-kvm-')), 'kvm');
    let asked = 0;
    const watch = kvmWatcher(() => {
      asked++;
      return checkKvm({ device: f });
    });
    const first = watch();
    expect(first).toMatchObject({ ok: false, absent: true });
    expect(watch()).toMatchObject({ ok: false, absent: true });
    expect(asked).toBe(2);
    fs.writeFileSync(f, ''); // the node appears (here a file: a verdict that no longer says absent)
    const later = watch();
    expect(!later.ok && later.reason).toBe(`${f} is not a character device (a regular file): not KVM`);
    expect(!later.ok && later.absent).toBeFalsy();
    fs.rmSync(f);
    expect(watch()).toBe(later); // kept: only an absent node is asked again
    expect(asked).toBe(3);
  });
});
