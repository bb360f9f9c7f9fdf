// smol-toml returns no positions for keys, so unknown-key and type warnings find their line
// by scanning the source: table headers ([a.b], [[a.b]] with an index per repetition),
// dotted `k.j = v` keys, and the keys of a one-line inline table. Multi-line strings are
// skipped. Approximate by design: a key that cannot be placed reports its table's line.

export type KeyPath = readonly (string | number)[];

const MAX_DEPTH = 32;
/** Sticky: matches at lastIndex only, so splitting stays linear in the line length. */
const BARE = /[A-Za-z0-9_-]+/y;

function splitDotted(s: string): string[] | undefined {
  const out: string[] = [];
  if (s.length > 4096) return undefined;
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    let part = '';
    if (s[i] === '"' || s[i] === "'") {
      const q = s[i]!;
      i++;
      while (i < n && s[i] !== q) {
        if (q === '"' && s[i] === '\\' && i + 1 < n) {
          part += s[i + 1];
          i += 2;
          continue;
        }
        part += s[i++];
      }
      if (i >= n) return undefined;
      i++;
    } else {
      BARE.lastIndex = i;
      const m = BARE.exec(s);
      if (!m) return undefined;
      part = m[0];
      i += part.length;
    }
    out.push(part);
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i < n) {
      if (s[i] !== '.') return undefined;
      i++;
    }
  }
  return out.length ? out : undefined;
}

/** Index of the first '=' outside quotes, or -1. */
function keyEnd(line: string): number {
  let q: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = undefined;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '=') return i;
    else if (c === '#') return -1;
  }
  return -1;
}

export class KeyLocator {
  private readonly lines = new Map<string, number>();

  constructor(source: string) {
    const arrayCounts = new Map<string, number>();
    let prefix: (string | number)[] = [];
    let inMulti: string | undefined;
    const text = source.split('\n');
    for (let ln = 0; ln < text.length; ln++) {
      const raw = text[ln]!.replace(/\r$/, '');
      if (inMulti) {
        if (raw.includes(inMulti)) inMulti = undefined;
        continue;
      }
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const at = ln + 1;
      const arr = /^\[\[(.*)\]\]\s*(#.*)?$/.exec(line);
      const tbl = arr ? undefined : /^\[(.*)\]\s*(#.*)?$/.exec(line);
      if (arr || tbl) {
        const keys = splitDotted((arr ?? tbl)![1]!);
        if (!keys) continue;
        if (arr) {
          const id = keys.join('\0');
          const idx = arrayCounts.get(id) ?? 0;
          arrayCounts.set(id, idx + 1);
          prefix = [...keys, idx];
        } else prefix = keys;
        this.record(prefix, at);
        continue;
      }
      const eq = keyEnd(line);
      if (eq < 0) continue;
      const keys = splitDotted(line.slice(0, eq));
      if (!keys) continue;
      const path = [...prefix, ...keys];
      this.record(path, at);
      const value = line.slice(eq + 1).trim();
      for (const q of ['"""', "'''"]) {
        if (value.startsWith(q) && !value.slice(3).includes(q)) inMulti = q;
      }
      if (value.startsWith('{') && value.length <= 4096) {
        // One-line inline table: `values = { who = "sprout", x.y = "z" }`.
        for (const m of value.matchAll(
          /[{,]\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/g,
        )) {
          const inner = splitDotted(m[1]!);
          if (inner) this.record([...path, ...inner], at);
        }
      }
    }
  }

  private record(path: KeyPath, line: number): void {
    // Deeper paths than any schema key are not worth locating (and cost O(depth²)).
    if (path.length > MAX_DEPTH) return;
    for (let i = 1; i <= path.length; i++) {
      const k = path.slice(0, i).join('\0');
      if (!this.lines.has(k)) this.lines.set(k, line);
    }
  }

  /** Line of `path`, or of its longest located prefix. */
  line(path: KeyPath): number | undefined {
    for (let i = path.length; i > 0; i--) {
      const l = this.lines.get(path.slice(0, i).join('\0'));
      if (l !== undefined) return l;
    }
    return undefined;
  }

  /** True when the exact path was seen. */
  has(path: KeyPath): boolean {
    return this.lines.has(path.join('\0'));
  }
}
