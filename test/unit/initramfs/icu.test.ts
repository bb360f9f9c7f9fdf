// The ICU data trim (initramfs/icu.ts), against the node running the tests (a full-ICU
// build with its data in the exported symbol icudtNN_dat): the reader/writer round-trips the
// real package byte for byte, a node carrying a rewritten package behaves like the original,
// the trimmed node still runs node's and tendril's code paths, and the reader refuses
// corrupted packages with a clear error.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IcuPackage,
  type IcuSymbol,
  findIcuSymbol,
  icuDropReason,
  icuTrimmedNode,
  patchNodeIcu,
  readIcuPackage,
  trimIcuPackage,
  writeIcuPackage,
} from '../../../initramfs/icu';

/** One past the last non-zero byte. */
function lastNonZero(b: Buffer): number {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return n;
}

const ROOT = path.join(__dirname, '..', '..', '..');
const NODE = process.execPath;
let dir: string;
let elf: Buffer;
let symbol: IcuSymbol;
let region: Buffer;
let pkg: IcuPackage;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-icu-'));
  elf = fs.readFileSync(NODE);
  const s = findIcuSymbol(elf);
  if (!s) throw new Error(`${NODE} has no embedded ICU data (icudtNN_dat): these tests need a full-ICU node`);
  symbol = s;
  region = elf.subarray(s.offset, s.offset + s.size);
  pkg = readIcuPackage(region);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Run `node -e script` with `bin`; the script prints one JSON value. */
function runJson(bin: string, script: string): unknown {
  const r = spawnSync(bin, ['-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin' } });
  if (r.status !== 0) throw new Error(`${bin} -e failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

const DE_SCRIPT = `console.log(JSON.stringify({
  n: (1234567.891).toLocaleString('de-DE'),
  c: (5).toLocaleString('de-DE', { style: 'currency', currency: 'EUR' }),
  d: new Intl.DateTimeFormat('de-DE', { dateStyle: 'full', timeStyle: 'long', timeZone: 'Europe/Berlin' }).format(new Date(0)),
  sort: ['z', 'ä', 'a', 'Ö', 'o'].sort(new Intl.Collator('de-DE').compare),
  rtf: new Intl.RelativeTimeFormat('de').format(-2, 'day'),
  region: new Intl.DisplayNames('de', { type: 'region' }).of('FR'),
  words: [...new Intl.Segmenter('de', { granularity: 'word' }).segment('Grüße aus Köln')].map((s) => s.segment),
  locale: new Intl.NumberFormat('de-DE').resolvedOptions().locale,
}));`;

describe('ICU package reader/writer on the installed node', () => {
  it('finds the package through the ELF symbol and program headers', () => {
    expect(symbol.name).toMatch(/^icudt\d+_dat$/);
    expect(region.readUInt16LE(0) % 16).toBe(0);
    expect(region.subarray(2, 4).toString('hex')).toBe('da27');
    expect(region.toString('latin1', 12, 16)).toBe('CmnD');
    // Cross-check the offset with readelf when it is there (binutils).
    const readelf = spawnSync('readelf', ['-W', '--dyn-syms', NODE], { encoding: 'utf8' });
    if (readelf.status === 0)
      expect(readelf.stdout).toMatch(new RegExp(`\\b${symbol.size}\\b.*\\b${symbol.name}$`, 'm'));
  });

  it('reads every item and writes the package back byte for byte', () => {
    expect(pkg.items.length).toBeGreaterThan(1000);
    const prefix = pkg.items[0]!.name.split('/')[0]!;
    expect(prefix).toMatch(/^icudt\d+l$/);
    const names = pkg.items.map((i) => i.name);
    expect(names).toContain(`${prefix}/root.res`);
    expect(names).toContain(`${prefix}/coll/root.res`);
    expect(names).toContain(`${prefix}/cnvalias.icu`);
    for (const it of pkg.items) expect(it.data.subarray(2, 4).toString('hex')).toBe('da27');
    const out = writeIcuPackage(pkg);
    expect(out.length).toBe(region.length);
    expect(out.equals(region)).toBe(true);
    const again = readIcuPackage(out);
    expect(again.items.map((i) => i.name)).toEqual(names);
    again.items.forEach((it, i) => expect(it.data.equals(pkg.items[i]!.data)).toBe(true));
  });

  it('a node carrying the rewritten package runs Intl for de-DE like the original', () => {
    // Identity first: the patch of an untrimmed package changes nothing.
    const same = patchNodeIcu(elf, (p) => ({
      pkg: readIcuPackage(writeIcuPackage(p)),
      kept: p.items.length,
      dropped: {},
    }))!;
    expect(same.binary.equals(elf)).toBe(true);
    // Then a package with every item moved (the unused translit tree removed): de-DE must
    // still come out exactly as with the original data.
    const moved = patchNodeIcu(elf, (p) =>
      trimIcuPackage(p, (n) => (n.includes('/translit/') ? 'translit' : undefined)),
    )!;
    expect(moved.after).toBeLessThan(moved.before);
    const bin = path.join(dir, 'node-rewritten');
    fs.writeFileSync(bin, moved.binary, { mode: 0o755 });
    const want = runJson(NODE, DE_SCRIPT) as Record<string, unknown>;
    expect(want.n).toBe('1.234.567,891'); // the test's premise: the original has German data
    expect(runJson(bin, DE_SCRIPT)).toEqual(want);
  });
});

describe('the trimmed node', () => {
  let trimmed: string;
  let trimmedPkg: IcuPackage;
  let trimmedRegion: Buffer;
  const cache = () => path.join(dir, 'cache');

  beforeAll(() => {
    const stripped = path.join(dir, 'node-stripped');
    execFileSync('strip', ['--strip-all', '-o', stripped, NODE]);
    trimmed = icuTrimmedNode(stripped, cache());
    const t = fs.readFileSync(trimmed);
    const s = findIcuSymbol(t)!;
    trimmedRegion = t.subarray(s.offset, s.offset + s.size);
    trimmedPkg = readIcuPackage(trimmedRegion);
  }, 120_000);

  it('is cached by the input identity, and TENDRIL_INITRAMFS_FULL_ICU=1 turns it off', () => {
    const stripped = path.join(dir, 'node-stripped');
    expect(trimmed).not.toBe(stripped);
    const mtime = fs.statSync(trimmed).mtimeMs;
    expect(icuTrimmedNode(stripped, cache())).toBe(trimmed);
    expect(fs.statSync(trimmed).mtimeMs).toBe(mtime);
    process.env.TENDRIL_INITRAMFS_FULL_ICU = '1';
    try {
      expect(icuTrimmedNode(stripped, cache())).toBe(stripped);
    } finally {
      delete process.env.TENDRIL_INITRAMFS_FULL_ICU;
    }
  });

  it('keeps root/en bundles and every non-locale item, drops other locales, dictionaries and translit', () => {
    const prefix = pkg.items[0]!.name.split('/')[0]!;
    const kept = new Set(trimmedPkg.items.map((i) => i.name));
    for (const tree of ['', 'brkitr/', 'coll/', 'curr/', 'lang/', 'rbnf/', 'region/', 'unit/', 'zone/'])
      for (const loc of ['root', 'en', 'en_US'])
        if (pkg.items.some((i) => i.name === `${prefix}/${tree}${loc}.res`))
          expect(kept).toContain(`${prefix}/${tree}${loc}.res`);
    for (const name of [
      'en_001.res',
      'en_US_POSIX.res',
      'coll/en_US_POSIX.res',
      'pool.res',
      'zone/pool.res',
      'res_index.res',
      'coll/ucadata.icu',
      'brkitr/word.brk',
      'cnvalias.icu',
      'ibm-1252_P100-2000.cnv',
      'supplementalData.res',
      'zoneinfo64.res',
      'timezoneTypes.res',
      'metaZones.res',
      'plurals.res',
      'numberingSystems.res',
      'icuver.res',
      'unames.icu',
      'uts46.nrm',
    ])
      expect(kept).toContain(`${prefix}/${name}`);
    for (const name of [
      'de.res',
      'zh_Hant_TW.res',
      'coll/de.res',
      'zone/fr.res',
      'en_GB.res',
      'brkitr/cjdict.dict',
      'translit/root.res',
    ])
      expect(kept).not.toContain(`${prefix}/${name}`);
    // Nothing else dropped: every item not kept has a reason.
    for (const it of pkg.items) expect(kept.has(it.name)).toBe(icuDropReason(it.name) === undefined);
    // The last item runs to the symbol's end: what follows the rewritten package is zeros.
    const last = trimmedPkg.items[trimmedPkg.items.length - 1]!.data;
    const used = trimmedRegion.length - last.length + lastNonZero(last);
    expect(used).toBeLessThan(region.length / 2);
    expect(trimmedRegion.subarray(used).every((b) => b === 0)).toBe(true);
  });

  it('runs node -e with English Intl, Unicode, converters, crypto and zlib', () => {
    const got = runJson(
      trimmed,
      `console.log(JSON.stringify({
        num: (1234.5).toLocaleString('en-US'),
        date: new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(new Date(0)),
        ny: new Date(0).toLocaleString('en-US', { timeZone: 'America/New_York', dateStyle: 'medium', timeStyle: 'short' }),
        lower: 'ÄÖ'.toLowerCase(),
        letter: /\\p{L}/u.test('ж') && !/\\p{L}/u.test('1'),
        nfc: 'e\\u0301'.normalize('NFC') === '\\u00e9',
        latin1: new TextDecoder('latin1').decode(new Uint8Array([0x41, 0xe4])),
        sjis: new TextDecoder('shift_jis').decode(new Uint8Array([0x82, 0xa0])),
        words: [...new Intl.Segmenter('en', { granularity: 'word' }).segment('Hello, big world')].filter((s) => s.isWordLike).map((s) => s.segment),
        ja: [...new Intl.Segmenter('ja', { granularity: 'word' }).segment('日本語のテキスト')].length,
        sorted: ['b', 'a', 'C', 'ä'].sort((x, y) => x.localeCompare(y)),
        plural: new Intl.PluralRules('en').select(1),
        list: new Intl.ListFormat('en').format(['a', 'b', 'c']),
        de: (1234.5).toLocaleString('de-DE'),
        deDate: new Date(0).toLocaleDateString('de-DE', { timeZone: 'UTC' }),
        deSupported: Intl.NumberFormat.supportedLocalesOf(['de', 'en']),
        sha: require('node:crypto').createHash('sha256').update('x').digest('hex').slice(0, 8),
        zlib: require('node:zlib').gunzipSync(require('node:zlib').gzipSync('zz')).toString(),
      }));`,
    );
    expect(got).toEqual({
      num: '1,234.5',
      date: '1/1/1970',
      ny: 'Dec 31, 1969, 7:00 PM',
      lower: 'äö',
      letter: true,
      nfc: true,
      latin1: 'Aä',
      sjis: 'あ',
      words: ['Hello', 'big', 'world'],
      // No CJK dictionary: the run of Han/Hiragana/Katakana is one segment.
      ja: 1,
      sorted: ['a', 'ä', 'b', 'C'],
      plural: 'one',
      list: 'a, b, and c',
      // German data is gone: V8 resolves de-DE to its default locale and formats in English.
      de: '1,234.5',
      deDate: '1/1/1970',
      deSupported: ['en'],
      sha: '2d711642',
      zlib: 'zz',
    });
  });

  it('runs the tendril bundle', () => {
    const bundle = path.join(ROOT, 'dist', 'tendril.js');
    if (!fs.existsSync(bundle)) execFileSync(NODE, [path.join(ROOT, 'scripts', 'build.mjs')]);
    const r = spawnSync(trimmed, [bundle, '--help'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: tendril <command>/);
  });
});

// ---- The reader against corrupted input ------------------------------------------------

/** A small valid package: a real-looking header and items with their own data headers. */
function syntheticPackage(names: string[], sizes: number[]): Buffer {
  const dataFile = (format: string, size: number, fill: number): Buffer => {
    const b = Buffer.alloc(Math.max(32, size), fill);
    b.writeUInt16LE(32, 0);
    b[2] = 0xda;
    b[3] = 0x27;
    b.writeUInt16LE(20, 4);
    b.writeUInt16LE(0, 6);
    b.fill(0, 8, 12);
    b[10] = 2;
    b.write(format, 12, 'latin1');
    return b;
  };
  const header = dataFile('CmnD', 32, 0);
  header.fill(0, 16, 32);
  header[16] = 1;
  return writeIcuPackage({
    header,
    items: names.map((name, i) => ({ name: `icudt99l/${name}`, data: dataFile('ResB', sizes[i]!, i + 1) })),
  });
}

const SAMPLE = syntheticPackage(['a.res', 'coll/root.res', 'en.res', 'pool.res', 'root.res'], [40, 100, 64, 33, 48]);

/** The reader either returns a consistent package or throws an 'ICU package:' Error. */
function readsOrRefuses(buf: Uint8Array): void {
  const t0 = performance.now();
  try {
    const p = readIcuPackage(buf);
    const total = p.items.reduce((n, i) => n + i.data.length, 0);
    expect(p.header.length + total).toBeLessThanOrEqual(buf.length);
    for (const it of p.items) expect(it.data.length).toBeGreaterThanOrEqual(24);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/^ICU package: /);
  }
  expect(performance.now() - t0).toBeLessThan(200);
}

describe('ICU package reader on corrupted input (fast-check)', () => {
  it('round-trips the synthetic sample', () => {
    const p = readIcuPackage(SAMPLE);
    expect(p.items.map((i) => i.name)).toEqual([
      'icudt99l/a.res',
      'icudt99l/coll/root.res',
      'icudt99l/en.res',
      'icudt99l/pool.res',
      'icudt99l/root.res',
    ]);
    expect(writeIcuPackage(p).equals(SAMPLE)).toBe(true);
  });

  it('truncated packages parse consistently or are refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SAMPLE.length }), (n) => readsOrRefuses(SAMPLE.subarray(0, n))),
      { numRuns: 500 },
    );
    // Cut inside the TOC or the names: always refused.
    for (let n = 0; n < SAMPLE.readUInt16LE(0) + 4 + 8 * 5; n++)
      expect(() => readIcuPackage(SAMPLE.subarray(0, n))).toThrow(/^ICU package: /);
  });

  it('randomly corrupted packages parse consistently or are refused', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(SAMPLE.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (edits) => {
          const b = Buffer.from(SAMPLE);
          for (const [i, v] of edits) b[i] = v;
          readsOrRefuses(b);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('arbitrary bytes behind a valid header are refused or parsed, never crash', () => {
    const hs = SAMPLE.readUInt16LE(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (tail) => {
        readsOrRefuses(tail);
        readsOrRefuses(Buffer.concat([SAMPLE.subarray(0, hs), tail]));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses absurd counts and unterminated names without scanning or allocating', () => {
    const hs = SAMPLE.readUInt16LE(0);
    const huge = Buffer.from(SAMPLE);
    huge.writeUInt32LE(0xffffffff, hs);
    expect(() => readIcuPackage(huge)).toThrow(/4294967295 items cannot fit/);
    // 16 MB with no NUL: name lookups are bounded, not a scan to the end.
    const big = Buffer.alloc(16 << 20, 0x41);
    SAMPLE.copy(big, 0, 0, hs + 4 + 8 * 5);
    const t0 = performance.now();
    expect(() => readIcuPackage(big)).toThrow(/unterminated or too long/);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('corrupting the real package TOC is refused or parsed, never crashes', () => {
    const hs = region.readUInt16LE(0);
    const tocEnd = hs + 4 + 8 * pkg.items.length;
    fc.assert(
      fc.property(fc.nat(tocEnd - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
        // In place (a 33 MB copy per run would be slow), restored afterwards.
        const saved = region[i]!;
        region[i] = v;
        try {
          readsOrRefuses(region);
        } finally {
          region[i] = saved;
        }
      }),
      { numRuns: 200 },
    );
  });
});
