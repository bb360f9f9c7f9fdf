// No test, fixture, bench, script or initramfs builder reads a host file through a path that
// names a version (`/boot/vmlinuz-6.1.0-56-amd64`, `/lib/modules/6.1.0-56-amd64`,
// `linux-source-6.1`): Debian replaces those files with every point release, and a pinned
// name turns a fresh machine red. Lookups go through initramfs/host.ts. Version strings that
// are data (an expected path inside a fabricated image, a `uname` written into a test UKI)
// are allowed: a literal that is an object field's value or a matcher's argument.

import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..', '..', '..');
const DIRS = ['test', 'bench', 'scripts', 'initramfs'];
/** The one module allowed to enumerate /boot, /lib/modules and /usr/src. */
const LOOKUP_MODULE = 'initramfs/host.ts';

const VERSIONED_PATH =
  /^(?:\/usr)?\/(?:boot\/(?:vmlinuz|initrd\.img|config|System\.map)-[0-9]|lib\/modules\/[0-9]|usr\/src\/linux-(?:source|headers)-[0-9])/;
const VERSIONED_PACKAGE = /\blinux-(?:source|headers|image)-[0-9]/;
const MATCHERS = new Set(['toBe', 'toEqual', 'toStrictEqual', 'toContain', 'toMatch', 'toMatchObject']);

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

function isData(literal: ts.Node): boolean {
  // Climb out of array literals: an expected list of paths is data as a whole.
  let node = literal;
  while (ts.isArrayLiteralExpression(node.parent)) node = node.parent;
  const parent = node.parent;
  if (ts.isPropertyAssignment(parent) && parent.initializer === node) return true;
  if (ts.isCallExpression(parent) && parent.arguments.includes(node as ts.Expression)) {
    const callee = parent.expression;
    if (ts.isPropertyAccessExpression(callee) && MATCHERS.has(callee.name.text)) return true;
  }
  return false;
}

/** Findings in one TypeScript/JavaScript source text. */
export function scanScript(file: string, text: string): Finding[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Finding[] = [];
  const add = (node: ts.Node, why: string, t: string): void => {
    out.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text: t, why });
  };
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      const t = node.text;
      const lit = ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node) ? node.parent : node;
      if (VERSIONED_PATH.test(t) && !isData(lit)) add(node, 'versioned host path', t);
      else if (VERSIONED_PACKAGE.test(t) && !isData(lit)) add(node, 'versioned package or source name', t);
      else if (
        file !== LOOKUP_MODULE &&
        /^(?:\/boot|\/lib\/modules|\/usr\/src)\/?$/.test(t) &&
        ts.isCallExpression(node.parent) &&
        /readdir/i.test(node.parent.expression.getText(sf))
      )
        add(node, `enumerates ${t} outside ${LOOKUP_MODULE} (use its lookups)`, t);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Findings in a shell script (comments skipped). */
export function scanShell(file: string, text: string): Finding[] {
  const out: Finding[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '');
    const m = /(?:^|[\s"'=(])((?:\/usr)?\/(?:boot\/vmlinuz-[0-9]|lib\/modules\/[0-9])\S*)/.exec(line);
    if (m) out.push({ file, line: i + 1, text: m[1]!, why: 'versioned host path' });
    const p = VERSIONED_PACKAGE.exec(line);
    if (p) out.push({ file, line: i + 1, text: p[0], why: 'versioned package or source name' });
  });
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const rel = path.join(d, e.name);
      if (e.isDirectory()) {
        if (rel !== path.join('test', 'data') && e.name !== 'node_modules') walk(rel);
      } else if (/\.(ts|mts|cts|js|mjs|cjs|sh)$/.test(e.name)) out.push(rel);
    }
  };
  walk(dir);
  return out;
}

describe('no versioned host paths under test/, bench/, scripts/, initramfs/', () => {
  it('finds none in the tree', () => {
    // This file's own samples are the checker's test input, not host reads.
    const self = path.relative(ROOT, __filename);
    const files = DIRS.flatMap(filesUnder).filter((f) => f !== self);
    const findings = files.flatMap((f) => {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      return f.endsWith('.sh') ? scanShell(f, text) : scanScript(f, text);
    });
    expect(findings.map((x) => `${x.file}:${x.line}: ${x.why}: ${x.text}`)).toEqual([]);
  });

  it('catches pinned kernels, modules, sources and private /boot scans', () => {
    const src = [
      "export const KERNEL = '/boot/vmlinuz-6.1.0-56-amd64';",
      'const k = fs.readFileSync(`/lib/modules/6.1.0-57-amd64/modules.dep`);',
      'sh(`tar -xf /usr/src/linux-source-6.1.tar.xz linux-source-6.1/arch`);',
      "const names = fs.readdirSync('/boot');",
    ].join('\n');
    expect(scanScript('test/x.ts', src).map((f) => [f.line, f.why])).toEqual([
      [1, 'versioned host path'],
      [2, 'versioned host path'],
      [3, 'versioned package or source name'],
      [4, 'enumerates /boot outside initramfs/host.ts (use its lookups)'],
    ]);
    expect(
      scanShell('x.sh', 'apt-get install linux-source-6.1\n# linux-source-6.1 in a comment\nK=/boot/vmlinuz-6.1.0-1\n'),
    ).toEqual([
      { file: 'x.sh', line: 1, text: 'linux-source-6', why: 'versioned package or source name' },
      { file: 'x.sh', line: 3, text: '/boot/vmlinuz-6.1.0-1', why: 'versioned host path' },
    ]);
  });

  it('lets version strings that are data through', () => {
    const src = [
      "const e = { kernel: { fsId: 'vda:2', path: '/boot/vmlinuz-6.1.0-18-amd64' } };",
      "expect(k.path).toBe('/boot/vmlinuz-6.1.0-18-amd64');",
      "expect(paths).toEqual([['/boot/initrd.img-6.1.0-9-amd64'], []]);",
      "const cfg = 'linux /boot/vmlinuz-6.1.0-18-amd64 root=/dev/vda2';",
      "buildUki({ uname: '6.1.0-56-amd64' });",
      "const files = { 'boot/vmlinuz-6.1.0-9-amd64': K };",
    ].join('\n');
    expect(scanScript('test/y.ts', src)).toEqual([]);
  });
});
