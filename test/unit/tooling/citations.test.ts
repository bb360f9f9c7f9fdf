// Comments and docs cite what a maintainer can open: every `§N` citation and every `*.md` reference
// in src/, native/, initramfs/, scripts/, bench/, test/ and docs/ must name a file that exists in the
// repository and, for a section, a numbered heading that exists in that file (`## 8.`, `### 8.2`,
// `### A5.`). A `§` belongs to the nearest document named before it on the same line; upstream
// specifications named with their version ("UEFI 2.10 §5.3", "virtio 1.2 §4.1", "NVMe 1.4c §4.3",
// "AHCI 1.3.1 §5", "ATA8-ACS §7") are left alone; a bare `§` is only allowed inside docs/, where
// it means the document itself. Notes outside the
// repository (the old shared reference directory) must not be cited at all.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..', '..', '..');
const DIRS = ['src', 'native', 'initramfs', 'scripts', 'bench', 'test', 'docs'];
const TEXT_FILE = /\.(?:ts|mts|cts|js|mjs|cjs|c|h|sh|md|gyp)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'out', '.cache']);
/** This file spells the patterns it looks for. */
const SELF = 'test/unit/tooling/citations.test.ts';

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly why: string;
}

const SECTION = /§([A-Z]?\d+(?:\.\d+)*|[A-Z])(?!\w)/g;
/** A URL (skipped) or a path ending in .md. */
const MD_REF = /https?:\/\/[^\s)>\]`'"]+|((?:\.{1,2}\/)*[\w-]+(?:[./][\w-]+)*\.md)(?![\w-])/g;
/** Upstream specifications cited by version: their sections are theirs, not ours. */
const UPSTREAM =
  /\b(?:UEFI|ACPI|virtio|PCI|RFC|USB|NVMe|AHCI|SATA|SMBIOS)\s+\d[\w.]*|\bATA8-ACS\b|\bFAT specification/g;
const OUTSIDE = /shared\/reference/;
const HEADING = /^#{1,6}\s+([A-Z]?\d+(?:\.\d+)*|[A-Z])\.?\s/;

/** Section ids of a markdown text: the leading number of each heading, outside code fences. */
export function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(?:```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = HEADING.exec(line);
    if (m) ids.add(m[1]!);
  }
  return ids;
}

export interface Repo {
  /** Repository-relative path of an existing file, or undefined. */
  resolve(fromFile: string, ref: string): string | undefined;
  headings(file: string): Set<string>;
}

interface Marker {
  readonly at: number;
  /** Resolved file for a document reference; null for an upstream specification. */
  readonly doc: string | null;
}

/** Problems in one file's text. `file` is repository-relative. */
export function checkText(file: string, text: string, repo: Repo): Problem[] {
  const out: Problem[] = [];
  const inDocs = file.startsWith('docs/') && file.endsWith('.md');
  text.split('\n').forEach((line, i) => {
    const n = i + 1;
    if (OUTSIDE.test(line)) out.push({ file, line: n, why: 'cites the shared reference notes outside the repository' });
    const markers: Marker[] = [];
    for (const m of line.matchAll(MD_REF)) {
      const ref = m[1];
      if (ref === undefined) continue;
      const doc = repo.resolve(file, ref);
      if (doc === undefined) {
        out.push({ file, line: n, why: `${ref}: no such file in the repository` });
        continue;
      }
      markers.push({ at: m.index, doc });
    }
    for (const m of line.matchAll(UPSTREAM)) markers.push({ at: m.index, doc: null });
    markers.sort((a, b) => a.at - b.at);
    for (const m of line.matchAll(SECTION)) {
      const before = markers.filter((k) => k.at < m.index);
      const owner = before[before.length - 1];
      let doc: string;
      if (owner) {
        if (owner.doc === null) continue;
        doc = owner.doc;
      } else if (inDocs) {
        doc = file;
      } else {
        // A reference that did not resolve was reported above; a § after it has no owner here.
        if (line.slice(0, m.index).includes('.md')) continue;
        out.push({ file, line: n, why: `§${m[1]} names no document: write docs/<file>.md §${m[1]}` });
        continue;
      }
      if (!doc.endsWith('.md')) continue;
      if (!repo.headings(doc).has(m[1]!)) out.push({ file, line: n, why: `${doc} has no section §${m[1]}` });
    }
  });
  return out;
}

function walk(dir: string, out: string[]): void {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    if (d.isDirectory()) {
      if (!SKIP_DIRS.has(d.name)) walk(path.join(dir, d.name), out);
    } else if (d.isFile() && TEXT_FILE.test(d.name)) {
      out.push(path.join(dir, d.name));
    }
  }
}

/** The real repository: references resolve against the citing file's directory, then the root. */
export function repoAt(root: string): Repo {
  const cache = new Map<string, Set<string>>();
  return {
    resolve(fromFile, ref) {
      for (const base of [path.dirname(fromFile), '.']) {
        const rel = path.normalize(path.join(base, ref));
        if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
        const abs = path.join(root, rel);
        if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return rel.split(path.sep).join('/');
      }
      return undefined;
    },
    headings(file) {
      let ids = cache.get(file);
      if (!ids) {
        ids = headingIds(fs.readFileSync(path.join(root, file), 'utf8'));
        cache.set(file, ids);
      }
      return ids;
    },
  };
}

function scanTree(): Problem[] {
  const repo = repoAt(ROOT);
  const files: string[] = [];
  for (const d of DIRS) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d), files);
  const out: Problem[] = [];
  for (const abs of files) {
    const rel = path.relative(ROOT, abs).split(path.sep).join('/');
    if (rel === SELF) continue;
    const text = fs.readFileSync(abs, 'utf8');
    if (!text.includes('§') && !text.includes('.md') && !OUTSIDE.test(text)) continue;
    out.push(...checkText(rel, text, repo));
  }
  return out;
}

/** A fake repository for the checker's own tests. */
function fakeRepo(files: Record<string, string>): Repo {
  return {
    resolve(fromFile, ref) {
      for (const base of [path.posix.dirname(fromFile), '.']) {
        const rel = path.posix.normalize(path.posix.join(base, ref));
        if (rel in files) return rel;
      }
      return undefined;
    },
    headings: (file) => headingIds(files[file] ?? ''),
  };
}

const DOC = '# Title\n\n## 1. One\n\n### 1.2 Sub\n\n## A. Part\n\n### A5. Cmds\n\n```\n## 9. not a heading\n```\n';

describe('citations', () => {
  it('every § citation and .md reference in the tree names an existing file and section', () => {
    const problems = scanTree().map((p) => `${p.file}:${p.line}: ${p.why}`);
    expect(problems).toEqual([]);
  });

  it('reads section ids from numbered headings, not from code blocks', () => {
    expect([...headingIds(DOC)].sort()).toEqual(['1', '1.2', 'A', 'A5']);
  });

  it('accepts docs citations, chains, upstream specs, URLs and docs-internal bare sections', () => {
    const repo = fakeRepo({ 'docs/x.md': DOC, 'src/vm/README.md': '' });
    const ok = [
      '// see docs/x.md §1, §1.2 and §A5 (also §A)',
      '// UEFI 2.10 §5.3, virtio 1.2 §4.1 and §5.2, ACPI 6.x §20, Microsoft FAT specification §3.5',
      '// https://example.org/spec/boot.md#section and README.md',
      "const table = '¶§÷';",
      'describe("paths (docs/x.md §1.2)", () => {});',
    ].join('\n');
    expect(checkText('src/vm/a.ts', ok, repo)).toEqual([]);
    expect(checkText('docs/x.md', 'See §1.2 and [x.md §A5](x.md).', repo)).toEqual([]);
  });

  it('flags a missing section, a missing file, a bare §, and the outside notes', () => {
    const repo = fakeRepo({ 'docs/x.md': DOC });
    const bad = [
      '// docs/x.md §7',
      '// docs/y.md §1',
      '// the fallback (§1.2)',
      '// ../shared/reference/bls.md',
      '// bls.md §6',
      '// docs/x.md §1, §9',
    ].join('\n');
    const why = checkText('src/a.ts', bad, repo).map((p) => `${p.line}: ${p.why}`);
    expect(why).toEqual([
      '1: docs/x.md has no section §7',
      '2: docs/y.md: no such file in the repository',
      '3: §1.2 names no document: write docs/<file>.md §1.2',
      '4: cites the shared reference notes outside the repository',
      '4: ../shared/reference/bls.md: no such file in the repository',
      '5: bls.md: no such file in the repository',
      '6: docs/x.md has no section §9',
    ]);
  });
});
