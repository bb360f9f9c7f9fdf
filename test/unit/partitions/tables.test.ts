// CRC-32 against zlib, CRC-32C against its check value, GUID byte order against the UEFI
// specification's ESP example, and our type names against util-linux's lists.
import { execFileSync } from 'node:child_process';
import * as fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../src/discovery/partitions/crc32';
import { guidAt, knownGptTypes, knownMbrTypes } from '../../../src/discovery/partitions/guids';
import { crc32cUpdate } from '../../../src/discovery/probe/crc32c';

describe('checksums', () => {
  it('CRC-32 matches zlib (check value 0xcbf43926)', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => crc32(b) === zlibCrc32(b)),
      { numRuns: 300 },
    );
  });

  it('CRC-32C has the Castagnoli check value 0xe3069283', () => {
    expect((crc32cUpdate(0xffffffff, Buffer.from('123456789')) ^ 0xffffffff) >>> 0).toBe(0xe3069283);
  });
});

describe('GUIDs', () => {
  it('decodes the mixed-endian on-disk form (UEFI spec: ESP GUID bytes)', () => {
    const onDisk = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex');
    expect(guidAt(onDisk, 0)).toBe('c12a7328-f81f-11d2-ba4b-00a0c93ec93b');
  });

  it("GPT type names are util-linux's (sfdisk --label gpt -T)", () => {
    const out = execFileSync('sfdisk', ['--label', 'gpt', '-T']).toString();
    const theirs = new Map<string, string>();
    for (const [, guid, name] of out.matchAll(/^([0-9A-F-]{36})\s+(.+)$/gm))
      theirs.set(guid!.toLowerCase(), name!.trim());
    for (const [guid, name] of knownGptTypes()) {
      if (guid === 'ca7d7ccb-63ed-4c53-861c-1742536059cc') continue; // LUKS: not in util-linux 2.38's list
      expect(theirs.get(guid), guid).toBe(name);
    }
  });

  it("MBR type names are util-linux's (sfdisk --label dos -T)", () => {
    const out = execFileSync('sfdisk', ['--label', 'dos', '-T']).toString();
    const theirs = new Map<number, string>();
    for (const [, type, name] of out.matchAll(/^\s*([0-9a-f]{1,2})\s+(.+)$/gm))
      theirs.set(parseInt(type!, 16), name!.trim());
    for (const [type, name] of knownMbrTypes()) expect(theirs.get(type), type.toString(16)).toBe(name);
  });
});
