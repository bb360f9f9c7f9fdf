// Where the variable store lives (docs/vmm-platform.md §11): in memory by default, so nothing the
// guest does to its variables outlives the run and no disk is ever written for them; with
// `--vars FILE` the run starts from FILE (or from the template when FILE does not exist yet) and
// ends by writing the store back to FILE atomically (temporary file, fsync, rename, fsync of the
// directory). Either way tendril reports which variables the guest changed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkVarsImage } from './firmware';
import {
  EFI_GLOBAL_VARIABLE,
  VarStoreError,
  diffVariables,
  parseVarStore,
  type UefiVariable,
  type VarChange,
} from './varstore';

/** SecureBootEnable lives under EFI_SECURE_BOOT_ENABLE_DISABLE (EDK2's SecureBootConfigDxe). */
const SECURE_BOOT_ENABLE_GUID = 'f0a30bc7-af08-4556-99c4-001009c93a44';

/** The store to start from: FILE when it exists (checked against the template), else the template. */
export function loadVarsFile(file: string, template: Uint8Array): { vars: Uint8Array; fromFile: boolean } {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { vars: template, fromFile: false };
    throw new Error(`--vars ${file}: ${(e as Error).message}`);
  }
  const problems = checkVarsImage(data);
  if (data.length !== template.length)
    problems.push(`${data.length} bytes, but this firmware's variable store has ${template.length}`);
  if (problems.length) throw new Error(`--vars ${file}: ${problems.join('; ')}`);
  try {
    parseVarStore(data);
  } catch (e) {
    throw new Error(`--vars ${file}: ${(e as Error).message}`);
  }
  return { vars: data, fromFile: true };
}

/** Writes `bytes` to `file` so that a crash leaves either the old file or the new one. */
export function saveVarsAtomically(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tendril-${process.pid}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

export type SecureBootState = 'on' | 'off' | 'setup mode';

/** What a store says about Secure Boot: a PK (user mode) and SecureBootEnable = 1 → on. */
export function secureBootState(vars: readonly UefiVariable[]): SecureBootState {
  const pk = vars.find((v) => v.name === 'PK' && v.guid === EFI_GLOBAL_VARIABLE && v.data.length > 0);
  if (!pk) return 'setup mode';
  const en = vars.find((v) => v.name === 'SecureBootEnable' && v.guid === SECURE_BOOT_ENABLE_GUID);
  return en?.data[0] === 1 ? 'on' : 'off';
}

/** The report's lines: what changed between the store the guest got and the one it left. */
export function describeVarChanges(before: Uint8Array, after: Uint8Array): { changes: VarChange[]; lines: string[] } {
  let a: readonly UefiVariable[];
  let b: readonly UefiVariable[];
  try {
    a = parseVarStore(before).variables;
    b = parseVarStore(after).variables;
  } catch (e) {
    const why = e instanceof VarStoreError ? e.message : String(e);
    return { changes: [], lines: [`the variable store the guest left cannot be read: ${why}`] };
  }
  const changes = diffVariables(a, b);
  const width = Math.max(0, ...changes.map((c) => c.name.length));
  const lines = changes.map((c) => `  ${c.kind.padEnd(7)} ${c.name.padEnd(width)}  ${c.guid}`);
  return { changes, lines };
}
