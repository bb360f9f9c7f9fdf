// Firmware images and their lookup (docs/vmm-platform.md §1, §11): Debian's unified OVMF.fd splits
// into a variable store and CODE; OVMF_CODE_4M.fd pairs with an OVMF_VARS_4M template; a template
// of another build, a unified image with --vars-template and junk are refused; findOvmf() reads
// the QEMU firmware descriptors the ovmf package installs and never names a version.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ovmfCombined, ovmfSplit } from '../../../initramfs/host';
import { checkFirmware, checkVarsImage, findOvmf, loadFirmware } from '../../../src/vm/firmware';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-fw-'));

describe('firmware images', () => {
  it("splits Debian's unified OVMF.fd into its 128 KiB variable store and CODE", () => {
    const data = fs.readFileSync(ovmfCombined());
    expect(checkFirmware(data)).toEqual({ kind: 'unified', problems: [] });
    const fw = loadFirmware({ firmware: ovmfCombined() });
    expect(fw.kind).toBe('unified');
    expect(fw.vars.length).toBe(0x2_0000);
    expect(fw.code.length).toBe(data.length - 0x2_0000);
    expect(checkVarsImage(fw.vars)).toEqual([]);
    expect(fw.code.toString('latin1', 0x28, 0x2c)).toBe('_FVH');
  });

  it('pairs OVMF_CODE_4M.fd with the OVMF_VARS_4M.fd beside it; CODE + VARS is 4 MiB', () => {
    const s = ovmfSplit();
    expect(checkFirmware(fs.readFileSync(s.code))).toEqual({ kind: 'code', problems: [] });
    const fw = loadFirmware({ firmware: s.code });
    expect(fw.varsFrom).toBe(s.vars);
    expect(fw.code.length + fw.vars.length).toBe(4 << 20);
    for (const t of [s.vars, s.varsMs, s.varsSnakeoil]) expect(checkVarsImage(fs.readFileSync(t))).toEqual([]);
    expect(loadFirmware({ firmware: s.code, varsTemplate: s.varsSnakeoil }).varsFrom).toBe(s.varsSnakeoil);
  });

  it('refuses a template of another build, a unified image with a template, and non-firmware', () => {
    const s = ovmfSplit();
    const small = path.join(path.dirname(s.vars), 'OVMF_VARS.fd');
    expect(() => loadFirmware({ firmware: s.code, varsTemplate: small })).toThrow(/does not belong to/);
    expect(() => loadFirmware({ firmware: ovmfCombined(), varsTemplate: s.vars })).toThrow(/unified image/);
    expect(() => loadFirmware({ firmware: ovmfCombined(), secureBoot: true })).toThrow(/unified image/);
    expect(() => loadFirmware({ firmware: s.code, varsTemplate: s.code })).toThrow(/not a VARS image/);
    expect(checkFirmware(Buffer.alloc(2 << 20)).problems).toContain('no _FVH firmware volume header at 0x28');
    expect(checkFirmware(Buffer.alloc(100)).problems.length).toBeGreaterThan(0);
    const d = tmp();
    fs.writeFileSync(path.join(d, 'x.fd'), 'not firmware');
    expect(() => loadFirmware({ firmware: path.join(d, 'x.fd') })).toThrow(/firmware .*x\.fd: size 12/);
  });
});

describe('findOvmf', () => {
  it("finds Debian's non-SMM CODE, its empty template and the enrolled (Microsoft keys) template", () => {
    const s = ovmfSplit();
    const f = findOvmf();
    expect(fs.realpathSync(f.code)).toBe(fs.realpathSync(s.code));
    expect(fs.realpathSync(f.vars)).toBe(fs.realpathSync(s.vars));
    expect(f.varsSecureBoot && fs.realpathSync(f.varsSecureBoot)).toBe(fs.realpathSync(s.varsMs));
    expect(loadFirmware({ secureBoot: true }).varsFrom).toBe(f.varsSecureBoot);
  });

  it('skips descriptors of SMM builds and broken ones, and falls back to the file names', () => {
    const s = ovmfSplit();
    const d = tmp();
    const desc = (features: string[], exe: string, tmpl: string) =>
      JSON.stringify({
        'interface-types': ['uefi'],
        mapping: { device: 'flash', executable: { filename: exe }, 'nvram-template': { filename: tmpl } },
        targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
        features,
      });
    fs.writeFileSync(
      path.join(d, '10-smm.json'),
      desc(['requires-smm', 'secure-boot'], '/nonexistent/CODE.fd', s.vars),
    );
    fs.writeFileSync(path.join(d, '20-broken.json'), '{');
    fs.writeFileSync(path.join(d, '30-plain.json'), desc([], s.code, s.vars));
    expect(findOvmf([d], [])).toEqual({ code: s.code, vars: s.vars });
    const empty = tmp();
    expect(findOvmf([empty], [path.dirname(s.code)])).toEqual({ code: s.code, vars: s.vars, varsSecureBoot: s.varsMs });
    expect(() => findOvmf([empty], [empty])).toThrow(/no OVMF firmware found .*apt-get install ovmf/);
  });
});
