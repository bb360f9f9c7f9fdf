// What the VM takes from the host (src/vm/host-tables.ts): the OEM activation tables, whole or not
// at all, and the guest clock's offset for each --rtc mode.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostAcpiTables, rtcOffsetMs } from '../../../src/vm/host-tables';

function tableFile(dir: string, sig: string, len: number, headerLen = len): void {
  const b = Buffer.alloc(len);
  b.write(sig, 0, 'ascii');
  b.writeUInt32LE(headerLen, 4);
  fs.writeFileSync(path.join(dir, sig), b);
}

describe('host ACPI tables', () => {
  it('passes on a whole MSDM; none when the machine has none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-acpi-host-'));
    expect(hostAcpiTables(dir)).toEqual({ tables: [], notes: [] });
    tableFile(dir, 'MSDM', 85);
    const r = hostAcpiTables(dir);
    expect(r.tables).toHaveLength(1);
    expect(Buffer.from(r.tables[0]!).toString('ascii', 0, 4)).toBe('MSDM');
    expect(r.notes).toEqual([`${dir}/MSDM: passed on to the guest (85 bytes)`]);
  });

  it('leaves out a truncated or mislabelled table, saying why', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-acpi-host-'));
    tableFile(dir, 'MSDM', 85, 120);
    fs.writeFileSync(path.join(dir, 'SLIC'), Buffer.from('DSDT'));
    const r = hostAcpiTables(dir);
    expect(r.tables).toEqual([]);
    expect(r.notes).toEqual([
      `${dir}/MSDM: not a whole MSDM table (85 bytes, header says 120); not passed on`,
      `${dir}/SLIC: not a whole SLIC table (4 bytes, header says 0); not passed on`,
    ]);
  });
});

describe('--rtc', () => {
  const now = Date.UTC(2026, 11, 6, 8, 0, 0);
  it('utc: no offset; localtime: the time zone; host: what the RTC holds', () => {
    expect(rtcOffsetMs('utc', now)).toBe(0);
    expect(rtcOffsetMs('localtime', now)).toBe(-new Date(now).getTimezoneOffset() * 60_000);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-rtc-')), 'since_epoch');
    fs.writeFileSync(f, `${now / 1000 + 3600}\n`); // an RTC an hour ahead (CET kept for Windows)
    expect(rtcOffsetMs('host', now, f)).toBe(3_600_000);
    fs.writeFileSync(f, 'garbage');
    expect(() => rtcOffsetMs('host', now, f)).toThrow(/--rtc host: .*'garbage' is not a count of seconds/);
    expect(() => rtcOffsetMs('host', now, '/nonexistent/since_epoch')).toThrow(/--rtc host: .*ENOENT/);
  });
});
