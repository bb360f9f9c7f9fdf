// grub `regexp` and wildcard matching on issue 16 finding 6's pathological inputs: `a*` or
// `a{1,99}` twenty times against 120 bytes, and a glob with two dozen `*` against 200-byte names
// (docs/grub-syslinux.md §A12). Baseline in the same run: a realistic pattern of the same length
// against a realistic subject of the same length; the ratio is pathological / baseline. For
// contrast, the JavaScript RegExp translation tendril used before is run in a worker and stopped
// after 2 s.
//   node scripts/run-ts.mjs bench/grub-regexp.ts

import { Worker } from 'node:worker_threads';
import { compile, execOffsets } from '../src/discovery/sources/grub/match/ere';
import { compileWildcard, matchWildcard } from '../src/discovery/sources/grub/match/wildcard';

const BUDGET = Number.MAX_SAFE_INTEGER;

/** Mean µs per call over at least 300 ms (after a warm-up). */
function time(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  let iters = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 300e6 || iters < 5) {
    fn();
    iters++;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  return elapsed / 1e3 / iters;
}

/** A path-splitting pattern of exactly `len` bytes (at least 8) that matches realisticSubject(). */
function realisticPattern(len: number): string {
  const pieces = ['/isos/', '(vmlinuz|initrd)', '-([0-9.]+)', '-([0-9]+)-', '([a-z0-9]+)'];
  let p = '^';
  for (const piece of [...pieces, ...Array<string>(20).fill('(/[a-z0-9._-]+)')]) {
    if (p.length + piece.length > len - 3) break;
    p += piece;
  }
  const r = len - p.length - 3;
  return p + '.?'.repeat(Math.floor(r / 2)) + (r % 2 ? '.' : '') + '.*$';
}

/** A subject of `len` bytes that the realistic pattern is run against (it mostly matches early groups). */
function realisticSubject(len: number): string {
  return ('/isos/vmlinuz-6.1.0-13-amd64' + '/casper/modules/6.1.0-13-amd64/kernel'.repeat(8)).slice(0, len);
}

/** The old translation (docs/grub-syslinux.md §A12 replaced it): JS RegExp in a worker, stopped after `ms`. */
function oldRegExp(source: string, subject: string, ms: number): Promise<string> {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    const t0 = process.hrtime.bigint();
    const m = new RegExp(workerData.source).test(workerData.subject);
    parentPort.postMessage({ m, us: Number(process.hrtime.bigint() - t0) / 1e3 });`;
  return new Promise((resolve) => {
    const w = new Worker(code, { eval: true, workerData: { source, subject } });
    const timer = setTimeout(() => {
      void w.terminate();
      resolve(`> ${ms} ms (stopped)`);
    }, ms);
    w.on('message', (r: { m: boolean; us: number }) => {
      clearTimeout(timer);
      void w.terminate();
      resolve(`${(r.us / 1e3).toFixed(1)} ms`);
    });
  });
}

async function main(): Promise<void> {
  const subject = 'a'.repeat(120);
  const cases = [
    'a*'.repeat(20) + 'b',
    '(a*)'.repeat(20) + 'b',
    'a{1,99}'.repeat(20) + 'b',
    '(a{1,99})'.repeat(20) + 'b',
    '^' + '(a{1,99})'.repeat(20) + '$',
  ];
  console.log('regexp, 120-byte subject: pathological vs a realistic pattern of the same length');
  console.log(
    `${'pattern'.padEnd(28)} ${'prog'.padStart(5)} ${'steps'.padStart(8)} ${'µs/match'.padStart(10)} ` +
      `${'baseline µs'.padStart(12)} ${'ratio'.padStart(7)}  old JS RegExp`,
  );
  for (const p of cases) {
    const re = compile(p);
    const base = compile(realisticPattern(p.length));
    if (!re.ok || !base.ok) throw new Error('bench pattern does not compile');
    const s = Buffer.from(subject);
    const bs = Buffer.from(realisticSubject(subject.length));
    const r = execOffsets(re.re, s, BUDGET);
    if (execOffsets(base.re, bs, BUDGET).kind !== 'match') throw new Error('the baseline pattern should match');
    const us = time(() => execOffsets(re.re, s, BUDGET));
    const baseUs = time(() => execOffsets(base.re, bs, BUDGET));
    // The old code refused quantified groups; ungrouped repetitions went to RegExp as written.
    const old = /\)[*+?{]/.test(p) ? 'refused' : await oldRegExp(p, subject, 2000);
    console.log(
      `${(p.slice(0, 22) + '…' + r.kind).padEnd(28)} ${String(re.re.program.op.length).padStart(5)} ` +
        `${String(r.steps).padStart(8)} ${us.toFixed(1).padStart(10)} ${baseUs.toFixed(1).padStart(12)} ` +
        `${(us / baseUs).toFixed(1).padStart(6)}x  ${old}`,
    );
  }

  const stars = '*a'.repeat(24) + '*b';
  const names = ['a'.repeat(200), 'a'.repeat(199) + 'b', 'ab'.repeat(100), 'b'.repeat(200)];
  const realistic = ('vmlinuz-6.1.0-13-amd64-*' + 'x'.repeat(stars.length)).slice(0, stars.length);
  const realNames = names.map((_, i) => `vmlinuz-6.1.0-13-amd64-${i}`.padEnd(200, 'x'));
  const w = compileWildcard(stars);
  const wb = compileWildcard(realistic);
  if (!w.ok || !wb.ok) throw new Error('bench wildcard does not compile');
  const steps = names.reduce((n, name) => n + matchWildcard(w.wildcard, name).steps, 0);
  const us = time(() => names.forEach((n) => matchWildcard(w.wildcard, n))) / names.length;
  const baseUs = time(() => realNames.forEach((n) => matchWildcard(wb.wildcard, n))) / names.length;
  const oldSource = '^' + stars.replace(/\*/g, '[^/]*') + '$';
  const old = await oldRegExp(oldSource, names[0]!, 2000);
  console.log(`\nwildcard ${stars.length}-byte pattern with 24 stars, 200-byte names`);
  console.log(
    `pathological: ${us.toFixed(1)} µs/name (${steps / names.length} steps/name); ` +
      `baseline ${JSON.stringify(realistic.slice(0, 24) + '…')}: ${baseUs.toFixed(1)} µs/name; ` +
      `ratio ${(us / baseUs).toFixed(1)}x; old RegExp translation on ${names[0]!.length} a's: ${old}`,
  );
}

void main();
