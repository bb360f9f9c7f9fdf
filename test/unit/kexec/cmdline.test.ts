import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCmdline, checkCmdlineLength, consolesFromProcCmdline, tokenize } from '../../../src/kexec/cmdline';

describe('cmdline policy (docs/kexec.md §3)', () => {
  it('tokenizes with double quotes like the kernel', () => {
    expect(tokenize('  a  b="c d"  e ')).toEqual(['a', 'b="c d"', 'e']);
    expect(tokenize('')).toEqual([]);
  });

  it('orders entry options, user edits, then policy', () => {
    const r = buildCmdline({
      entryOptions: 'root=/dev/vda2 ro',
      append: 'quiet',
      policy: ['ip=dhcp'],
      ownConsoles: [],
    });
    expect(r.cmdline).toBe('root=/dev/vda2 ro quiet ip=dhcp');
  });

  it('a replaced command line drops the entry options', () => {
    expect(buildCmdline({ entryOptions: 'root=/dev/a', replace: 'root=/dev/b single' }).cmdline).toBe(
      'root=/dev/b single',
    );
  });

  it('strips initrd=, BOOT_IMAGE= and the UKI profile selector', () => {
    const r = buildCmdline({ entryOptions: '@1 BOOT_IMAGE=/vmlinuz root=x initrd=\\initrd.img rw' });
    expect(r.cmdline).toBe('root=x rw');
    expect(r.stripped).toEqual(['@1', 'BOOT_IMAGE=/vmlinuz', 'initrd=\\initrd.img']);
  });

  it("keeps the entry's console= and adds ours only when it has none", () => {
    const own = ['tty0', 'ttyS0,115200'];
    expect(buildCmdline({ entryOptions: 'root=x console=ttyS1', ownConsoles: own }).cmdline).toBe(
      'root=x console=ttyS1',
    );
    const r = buildCmdline({ entryOptions: 'root=x', ownConsoles: own });
    expect(r.cmdline).toBe('root=x console=tty0 console=ttyS0,115200');
    expect(r.consoleDecision).toMatch(/added/);
    // A console= typed by the user counts as the entry's.
    expect(buildCmdline({ entryOptions: 'root=x', append: 'console=hvc0', ownConsoles: own }).cmdline).toBe(
      'root=x console=hvc0',
    );
  });

  it('replace and keep policies', () => {
    const own = ['ttyS0'];
    expect(buildCmdline({ entryOptions: 'console=tty1 a', ownConsoles: own, consolePolicy: 'replace' }).cmdline).toBe(
      'a console=ttyS0',
    );
    expect(buildCmdline({ entryOptions: 'a', ownConsoles: own, consolePolicy: 'keep' }).cmdline).toBe('a');
  });

  it('reads console= from /proc/cmdline text', () => {
    expect(consolesFromProcCmdline('BOOT_IMAGE=/v console=tty0 console=ttyS0,115200n8 quiet\n')).toEqual([
      'tty0',
      'ttyS0,115200n8',
    ]);
  });

  it('checks the length against cmdline_size (excluding the NUL)', () => {
    expect(checkCmdlineLength('a'.repeat(2047), 2047)).toBeUndefined();
    expect(checkCmdlineLength('a'.repeat(2048), 2047)).toMatch(/2048 bytes.*at most 2047/);
  });

  it('never emits loader-only tokens and is idempotent', () => {
    const tok = fc.constantFrom('a', 'b=1', 'initrd=/x', 'BOOT_IMAGE=/k', 'console=ttyS0', '"q r"', 'x="y z"');
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 12 }), fc.array(tok, { maxLength: 4 }), (entry, app) => {
        const r = buildCmdline({ entryOptions: entry.join(' '), append: app.join(' '), ownConsoles: ['ttyS0'] });
        const toks = tokenize(r.cmdline);
        expect(toks.some((t) => t.startsWith('initrd=') || t.startsWith('BOOT_IMAGE='))).toBe(false);
        expect(buildCmdline({ entryOptions: r.cmdline, ownConsoles: ['ttyS0'] }).cmdline).toBe(r.cmdline);
      }),
      { numRuns: 500 },
    );
  });
});
