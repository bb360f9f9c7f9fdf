// OVMF image checks before mapping (docs/vmm-platform.md §1): size, firmware-volume headers,
// varstore GUID. The image is mapped read-only so that it ends at 4 GiB.
import * as fs from 'node:fs';

export const FIRMWARE_MAX = 16 * 1024 * 1024;
const NV_GUID = Buffer.from('8d2bf1ff96768b4ca9852747075b4f50', 'hex'); // FFF12B8D-7696-4C8B-A985-2747075B4F50

export interface Firmware {
  readonly path: string;
  readonly data: Buffer;
}

export function loadFirmware(path: string): Firmware {
  let data: Buffer;
  try {
    const st = fs.statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > FIRMWARE_MAX) throw new Error(`larger than ${FIRMWARE_MAX} bytes`);
    data = fs.readFileSync(path);
  } catch (e) {
    throw new Error(`firmware ${path}: ${(e as Error).message}`);
  }
  const problems = checkFirmware(data);
  if (problems.length) throw new Error(`firmware ${path}: ${problems.join('; ')}`);
  return { path, data };
}

export function checkFirmware(data: Buffer): string[] {
  const out: string[] = [];
  if (data.length === 0 || data.length % 4096) out.push(`size ${data.length} is not a multiple of 4 KiB`);
  if (data.length >= 0x30 && data.toString('ascii', 0x28, 0x2c) !== '_FVH')
    out.push('no _FVH firmware volume header at 0x28');
  if (data.length === 2 * 1024 * 1024) {
    if (!data.subarray(0x10, 0x20).equals(NV_GUID))
      out.push('varstore GUID at 0x10 is not EFI_SYSTEM_NV_DATA_FV_GUID (is this a split CODE image?)');
    if (data.toString('ascii', 0x20028, 0x2002c) !== '_FVH') out.push('no CODE firmware volume at 0x20028');
  }
  return out;
}
