// The firmware: which OVMF to run, checked before mapping, and its two flash banks
// (docs/vmm-platform.md §1, §11): CODE (read-only) ending at 4 GiB and, below it, the variable store (VARS),
// a writable copy in memory. Two kinds of image:
//  - a CODE image (Debian's OVMF_CODE_4M.fd) plus a VARS template (OVMF_VARS_4M.fd, or one with
//    Secure Boot keys enrolled), as QEMU's two `-drive if=pflash` units;
//  - a unified image (OVMF.fd): the VARS volume first, CODE after it; split here into the same
//    two banks, so its variables live on a flash device too.
// findOvmf() is the product's lookup of Debian's `ovmf` package; nothing names a version.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The memory map leaves 16 MiB below 4 GiB for flash (docs/vmm-platform.md §3). */
export const FIRMWARE_MAX = 16 * 1024 * 1024;
const BLOCK = 0x1000;
/** EFI_SYSTEM_NV_DATA_FV_GUID FFF12B8D-7696-4C8B-A985-2747075B4F50, as stored (mixed-endian). */
export const NV_DATA_FV_GUID = Buffer.from('8d2bf1ff96768b4ca9852747075b4f50', 'hex');

export type FirmwareKind = 'unified' | 'code';

export interface Firmware {
  readonly path: string;
  readonly kind: FirmwareKind;
  /** The read-only bank that ends at 4 GiB. */
  readonly code: Buffer;
  /** The variable store's initial contents (a copy: the guest's writes never reach a file). */
  readonly vars: Buffer;
  /** Where `vars` came from: a template file, or the unified image itself. */
  readonly varsFrom: string;
}

const fvhAt = (b: Buffer, off: number): boolean =>
  b.length >= off + 0x2c && b.toString('latin1', off + 0x28, off + 0x2c) === '_FVH';
const isNvFv = (b: Buffer, off = 0): boolean =>
  fvhAt(b, off) && b.subarray(off + 0x10, off + 0x20).equals(NV_DATA_FV_GUID);

/** Problems with an image given as --firmware (empty when it is usable), and its kind. */
export function checkFirmware(data: Buffer): { kind: FirmwareKind | null; problems: string[] } {
  const problems: string[] = [];
  if (data.length === 0 || data.length % BLOCK) problems.push(`size ${data.length} is not a multiple of 4 KiB`);
  if (data.length > FIRMWARE_MAX) problems.push(`larger than ${FIRMWARE_MAX} bytes`);
  if (!fvhAt(data, 0)) problems.push('no _FVH firmware volume header at 0x28');
  if (problems.length) return { kind: null, problems };
  if (!isNvFv(data)) return { kind: 'code', problems };
  // A unified image: the VARS volume (FvLength at 0x20), then the CODE volume.
  const varsLen = Number(data.readBigUInt64LE(0x20));
  if (varsLen <= 0 || varsLen % BLOCK || varsLen >= data.length)
    problems.push(`variable store volume length 0x${varsLen.toString(16)} does not fit the image`);
  else if (!fvhAt(data, varsLen))
    problems.push(`no CODE firmware volume after the variable store (at 0x${varsLen.toString(16)})`);
  return { kind: 'unified', problems };
}

/** Problems with a variable store image (a VARS template or a --vars file). */
export function checkVarsImage(data: Buffer): string[] {
  const problems: string[] = [];
  if (data.length === 0 || data.length % BLOCK) problems.push(`size ${data.length} is not a multiple of 4 KiB`);
  if (!isNvFv(data)) problems.push('no EFI_SYSTEM_NV_DATA_FV_GUID firmware volume at 0 (not a VARS image?)');
  else if (Number(data.readBigUInt64LE(0x20)) !== data.length)
    problems.push(`volume length 0x${data.readBigUInt64LE(0x20).toString(16)} is not the file size`);
  return problems;
}

function readImage(what: string, file: string): Buffer {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > FIRMWARE_MAX) throw new Error(`larger than ${FIRMWARE_MAX} bytes`);
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as Error).message}`);
  }
}

export interface FirmwareChoice {
  /** --firmware: a CODE image or a unified image; default: Debian's OVMF_CODE_4M.fd. */
  readonly firmware?: string | undefined;
  /** --vars-template: the VARS image to start from (CODE images only). */
  readonly varsTemplate?: string | undefined;
  /** --secure-boot: start from a template with keys enrolled (CODE images only). */
  readonly secureBoot?: boolean | undefined;
}

/** Loads and checks the firmware the options name (or Debian's), with its VARS template. */
export function loadFirmware(choice: FirmwareChoice, find: () => OvmfFiles = findOvmf): Firmware {
  let found: OvmfFiles | null = null;
  const ovmf = (): OvmfFiles => (found ??= find());
  const file = choice.firmware ?? ovmf().code;
  const data = readImage('firmware', file);
  const { kind, problems } = checkFirmware(data);
  if (kind === null || problems.length) throw new Error(`firmware ${file}: ${problems.join('; ')}`);
  if (kind === 'unified') {
    if (choice.varsTemplate !== undefined || choice.secureBoot)
      throw new Error(
        `firmware ${file} is a unified image with its own variable store; --vars-template and --secure-boot need a CODE image (OVMF_CODE_4M.fd)`,
      );
    const varsLen = Number(data.readBigUInt64LE(0x20));
    return {
      path: file,
      kind,
      code: data.subarray(varsLen),
      vars: Buffer.from(data.subarray(0, varsLen)),
      varsFrom: `${file} (its own variable store)`,
    };
  }
  let template = choice.varsTemplate;
  if (template === undefined) {
    if (choice.secureBoot) {
      template = ovmf().varsSecureBoot;
      if (template === undefined)
        throw new Error(
          '--secure-boot: no variable store with Secure Boot keys enrolled found (Debian ships OVMF_VARS_4M.ms.fd in the ovmf package); give one with --vars-template',
        );
    } else template = choice.firmware === undefined ? ovmf().vars : (varsBeside(file) ?? ovmf().vars);
  }
  const vars = readImage('variable store template', template);
  const vp = checkVarsImage(vars);
  if (vp.length) throw new Error(`variable store template ${template}: ${vp.join('; ')}`);
  const fd = data.length + vars.length;
  if (fd > FIRMWARE_MAX)
    throw new Error(`firmware ${file} and ${template} together exceed ${FIRMWARE_MAX} bytes below 4 GiB`);
  // OVMF finds its variable store at 4 GiB − FD size, and its FD sizes are powers of two
  // (OvmfPkgDefines.fdf.inc: 1, 2 or 4 MiB): a template of another build would not be found.
  if (fd & (fd - 1))
    throw new Error(
      `variable store template ${template} (0x${vars.length.toString(16)} bytes) does not belong to ${file} (0x${data.length.toString(16)} bytes): together they are not an OVMF flash size`,
    );
  return { path: file, kind, code: data, vars, varsFrom: template };
}

/** OVMF_VARS*.fd next to an OVMF_CODE*.fd (same suffix), as Debian pairs them. */
function varsBeside(code: string): string | undefined {
  const base = path.basename(code);
  if (!base.includes('_CODE')) return undefined;
  const candidate = path.join(
    path.dirname(code),
    base.replace('_CODE', '_VARS').replace(/\.(ms|secboot|snakeoil)\.fd$/, '.fd'),
  );
  return fs.existsSync(candidate) ? candidate : undefined;
}

/** Debian's OVMF as tendril runs it: the non-SMM CODE image and its templates. */
export interface OvmfFiles {
  readonly code: string;
  /** Empty store: no keys, Secure Boot off. */
  readonly vars: string;
  /** Keys enrolled and Secure Boot on (Debian: the distribution's PK, Microsoft's KEK and db). */
  readonly varsSecureBoot?: string;
}

export interface FirmwareDescriptor {
  readonly 'interface-types'?: unknown;
  readonly mapping?: {
    device?: unknown;
    executable?: { filename?: unknown };
    'nvram-template'?: { filename?: unknown };
  };
  readonly targets?: Array<{ architecture?: unknown; machines?: unknown }>;
  readonly features?: unknown;
}

const FIRMWARE_DESCRIPTOR_DIRS = ['/etc/qemu/firmware', '/usr/share/qemu/firmware'];
const OVMF_DIRS = ['/usr/share/OVMF', '/usr/share/ovmf', '/usr/share/edk2/ovmf', '/usr/share/qemu'];

/**
 * Finds OVMF the way libvirt does, through the QEMU firmware descriptors the `ovmf` package
 * installs (/usr/share/qemu/firmware/*.json): a flash-mapped UEFI build for x86_64 that runs on
 * i440FX without SMM, and its VARS template; the Secure Boot template is the one a descriptor
 * marks `enrolled-keys` (Debian pairs it with the SMM build, which tendril cannot run, but the
 * variable store format is the same; README.md "Secure Boot"). Falls back to Debian's file names.
 */
export interface FirmwareDescriptorFile {
  /** Where the descriptor is. */
  readonly file: string;
  /** Its text, as read. */
  readonly text: string;
  readonly descriptor: FirmwareDescriptor;
  /** The image files it names (executable, NVRAM template). */
  readonly names: string[];
}

/** The QEMU firmware descriptors in `dirs`, each directory's in name order; a broken one is
 *  skipped, as QEMU's own lookup does. */
export function firmwareDescriptors(dirs = FIRMWARE_DESCRIPTOR_DIRS): FirmwareDescriptorFile[] {
  const out: FirmwareDescriptorFile[] = [];
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = fs
        .readdirSync(d)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const file = path.join(d, n);
      try {
        const text = fs.readFileSync(file, 'utf8');
        const descriptor = JSON.parse(text) as FirmwareDescriptor;
        const named = [descriptor.mapping?.executable?.filename, descriptor.mapping?.['nvram-template']?.filename];
        out.push({ file, text, descriptor, names: named.filter((x): x is string => typeof x === 'string') });
      } catch {
        /* skipped */
      }
    }
  }
  return out;
}

export function findOvmf(dirs = FIRMWARE_DESCRIPTOR_DIRS, fallbackDirs = OVMF_DIRS): OvmfFiles {
  const descriptors = firmwareDescriptors(dirs).map((d) => d.descriptor);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const usable = (d: FirmwareDescriptor) =>
    list(d['interface-types']).includes('uefi') &&
    d.mapping?.device === 'flash' &&
    (d.targets ?? []).some(
      (t) => t.architecture === 'x86_64' && list(t.machines).some((m) => m.startsWith('pc-i440fx')),
    );
  let code: string | undefined;
  let vars: string | undefined;
  let varsSecureBoot: string | undefined;
  for (const d of descriptors) {
    if (!usable(d)) continue;
    const features = list(d.features);
    const exe = str(d.mapping?.executable?.filename);
    const tmpl = str(d.mapping?.['nvram-template']?.filename);
    if (!exe || !tmpl || !fs.existsSync(exe) || !fs.existsSync(tmpl)) continue;
    if (!features.includes('requires-smm') && !features.includes('enrolled-keys') && code === undefined) {
      code = exe;
      vars = tmpl;
    }
  }
  for (const d of descriptors) {
    const tmpl = str(d.mapping?.['nvram-template']?.filename);
    if (d.mapping?.device === 'flash' && list(d.features).includes('enrolled-keys') && tmpl && fs.existsSync(tmpl)) {
      varsSecureBoot ??= tmpl;
    }
  }
  for (const dir of fallbackDirs) {
    const f = (n: string) => (fs.existsSync(path.join(dir, n)) ? path.join(dir, n) : undefined);
    if (code === undefined && f('OVMF_CODE_4M.fd') && f('OVMF_VARS_4M.fd')) {
      code = f('OVMF_CODE_4M.fd');
      vars = f('OVMF_VARS_4M.fd');
    }
    varsSecureBoot ??= f('OVMF_VARS_4M.ms.fd');
  }
  if (code === undefined || vars === undefined)
    throw new Error(
      `no OVMF firmware found (looked for QEMU firmware descriptors in ${dirs.join(', ')} and OVMF_CODE_4M.fd in ${fallbackDirs.join(', ')}); apt-get install ovmf, or give --firmware`,
    );
  return varsSecureBoot === undefined ? { code, vars } : { code, vars, varsSecureBoot };
}
