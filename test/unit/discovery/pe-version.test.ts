// The PE version-resource reader (src/discovery/pe/resource.ts, version.ts) on EFI applications
// linked by binutils-mingw-w64 (windres + ld --subsystem 10) and on Debian's systemd-boot, and
// fast-check hammering it with arbitrary and mutated bytes: it returns a reason, never throws,
// and reads a bounded amount.

import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemdBootEfi } from '../../../initramfs/host';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import { inspectEfiProgram } from '../../../src/discovery/pe/efiapp';
import { MAX_VERSION_RESOURCE, readVersionResource } from '../../../src/discovery/pe/resource';
import { MAX_VERSION_BLOCKS, MAX_VERSION_DEPTH, parseVersionInfo } from '../../../src/discovery/pe/version';
import { parsePeHandle, PeError } from '../../../src/discovery/uki/pe';
import { buildEfiApp } from '../../fixtures/efi-app';
import { memoryHandle } from '../uki/helpers';

async function versionOf(file: string) {
  const r = await inspectEfiProgram(new HostDirFileSystem(path.dirname(file)), '/' + path.basename(file), 'x64', {
    version: true,
  });
  if (!r.ok) throw new Error(r.reason);
  return r.version;
}

/** The VS_VERSIONINFO bytes of an image: from its key's block header to wLength. */
function versionBytes(image: Buffer): Buffer {
  const at = image.indexOf(Buffer.from('VS_VERSION_INFO', 'utf16le')) - 6;
  return image.subarray(at, at + image.readUInt16LE(at));
}

let withStrings = '';
let twoTables = '';
let bare = '';

beforeAll(() => {
  withStrings = buildEfiApp({
    tables: {
      '040904B0': {
        CompanyName: 'Tendril Test',
        FileDescription: 'Tendril Test Loader',
        ProductName: 'Tendril Test OS',
        ProductVersion: '7.1',
      },
    },
    fixed: [1, 2, 3, 4],
  });
  twoTables = buildEfiApp({
    tables: {
      '040704B0': { ProductName: 'Testsystem', ProductVersion: '2.0' },
      '040904B0': { ProductName: 'Test system', ProductVersion: '2.0' },
    },
    returns: 1,
  });
  bare = buildEfiApp({ returns: 2 });
});

describe('version resources built by windres and linked by ld --subsystem 10', () => {
  it('reads ProductName, FileDescription, ProductVersion, CompanyName and the fixed version', async () => {
    expect(await versionOf(withStrings)).toEqual({
      kind: 'found',
      info: {
        productName: 'Tendril Test OS',
        fileDescription: 'Tendril Test Loader',
        productVersion: '7.1',
        companyName: 'Tendril Test',
        fixedProductVersion: '1.2.3.4',
        table: '040904b0',
      },
    });
  });

  it('prefers the en-US string table over one listed before it', async () => {
    const v = await versionOf(twoTables);
    expect(v).toMatchObject({ kind: 'found', info: { productName: 'Test system', table: '040904b0' } });
  });

  it('an application without resources, and Debian systemd-boot: absent, not an error', async () => {
    expect(await versionOf(bare)).toEqual({ kind: 'absent', reason: 'no resource directory' });
    expect(await versionOf(systemdBootEfi())).toEqual({ kind: 'absent', reason: 'no resource directory' });
  });
});

/** A version block: wLength, wValueLength, wType, UTF-16 key, padding, value, padding, children. */
function blk(key: string, children: Buffer[] = [], value = Buffer.alloc(0), type = 0): Buffer {
  const k = Buffer.concat([Buffer.from(key, 'utf16le'), Buffer.alloc(2)]);
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = pad(Buffer.concat([Buffer.alloc(6), k]));
  const body = Buffer.concat([head, pad(value), ...children.map(pad)]);
  body.writeUInt16LE(body.length, 0);
  body.writeUInt16LE(type === 1 ? value.length / 2 : value.length, 2);
  body.writeUInt16LE(type, 4);
  return body;
}
const str = (k: string, v: string) => blk(k, [], Buffer.from(v + '\0', 'utf16le'), 1);

describe('hand-made VS_VERSIONINFO blocks at the limits', () => {
  it('a well-formed block tree parses', () => {
    const b = blk('VS_VERSION_INFO', [blk('StringFileInfo', [blk('040904b0', [str('ProductName', 'X')])])]);
    expect(parseVersionInfo(b)).toEqual({ ok: true, info: { productName: 'X', table: '040904b0' } });
  });

  it('nesting past the four levels, too many blocks, a wrong root and a truncated block are reasons', () => {
    // Only VS_VERSIONINFO > StringFileInfo > StringTable > String is walked: a String one level
    // deeper is never looked at, however deep the blocks go.
    let deep = str('ProductName', 'X');
    for (let i = 0; i < 40; i++) deep = blk('StringFileInfo', [deep]);
    expect(parseVersionInfo(blk('VS_VERSION_INFO', [deep]))).toEqual({ ok: true, info: {} });
    expect(MAX_VERSION_DEPTH).toBe(4);
    const many = Array.from({ length: MAX_VERSION_BLOCKS }, () => str('Comments', 'x'));
    const r = parseVersionInfo(blk('VS_VERSION_INFO', [blk('StringFileInfo', [blk('040904b0', many)])]));
    expect(r).toEqual({ ok: false, reason: `more than ${MAX_VERSION_BLOCKS} blocks` });
    expect(parseVersionInfo(blk('NOT_VERSION'))).toEqual({
      ok: false,
      reason: "root key is 'NOT_VERSION', not 'VS_VERSION_INFO'",
    });
    const cut = blk('VS_VERSION_INFO', [blk('StringFileInfo')]);
    expect(parseVersionInfo(cut.subarray(0, cut.length - 4))).toMatchObject({ ok: false });
  });
});

describe('hostile input (fast-check)', () => {
  it('any bytes: parseVersionInfo returns, never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => {
        const r = parseVersionInfo(b);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it("windres's VS_VERSIONINFO with bytes overwritten: a result or a reason, never an exception", () => {
    const real = versionBytes(fs.readFileSync(withStrings));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (edits) => {
          const b = Buffer.from(real);
          for (const [at, v] of edits) b[at] = v;
          const r = parseVersionInfo(b);
          if (r.ok) for (const v of Object.values(r.info)) expect(typeof v).toBe('string');
          else expect(r.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a whole EFI application with bytes overwritten anywhere in its headers or resources: bounded reads, no throw', async () => {
    const image = fs.readFileSync(withStrings);
    const rsrc = image.indexOf(Buffer.from('VS_VERSION_INFO', 'utf16le')) - 0x100;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.oneof(fc.nat(0x200), fc.integer({ min: Math.max(0, rsrc), max: image.length - 1 })),
            fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(0xff), fc.constant(0x80)),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        async (edits) => {
          const b = Buffer.from(image);
          for (const [at, v] of edits) b[Math.min(at, b.length - 1)] = v;
          const h = memoryHandle(b);
          let pe;
          try {
            pe = await parsePeHandle(h, 'fuzz.efi');
          } catch (e) {
            // The header parser's own reasons (tested in test/unit/uki); the resource reader is not reached.
            expect(e).toBeInstanceOf(PeError);
            return;
          }
          const v = await readVersionResource(h, pe);
          expect(['found', 'absent', 'invalid']).toContain(v.kind);
          expect(h.maxRead).toBeLessThanOrEqual(Math.max(MAX_VERSION_RESOURCE, 4096));
        },
      ),
      { numRuns: 1500 },
    );
  });
});
