import { describe, expect, it } from 'vitest';
import type { LinuxTarget } from '../../../src/discovery/model';
import { DEFAULT_LIMITS, joinCmdline, PLATFORM_VARIABLE_NAMES } from '../../../src/discovery/sources/grub';
import { runCfg, type FsSpec } from './helpers';
import { declaredOf, isBootable, reasonOf, targetOf } from '../../fixtures/status';

const cmdlines = async (cfg: string, files: Record<string, string> = {}): Promise<string[]> =>
  (await runCfg(cfg, files)).entries.map((e) => (targetOf(e) as LinuxTarget).cmdline);
/** One entry whose cmdline shows the words after `linux /k`. */
const show = (words: string): string => `menuentry 't' {\n linux /k ${words}\n}\n`;

describe('expansion and quoting', () => {
  it('unquoted expansions split, quoted ones do not, empty unquoted ones vanish', async () => {
    expect(await cmdlines(`set a="x  y"\nset e=\n${show('$a "$a" $e "$e" pre${a}post')}`)).toEqual([
      'x y "x  y"  prex ypost',
    ]); // "$e" is an empty argument: cmdline.c writes nothing for it
  });
  it('grub cmdline quoting: space → double quotes; \\ \' " escaped', () => {
    expect(joinCmdline(['a b', `q"uote`, "it's", 'back\\slash', 'plain'])).toBe(
      `"a b" q\\"uote it\\'s back\\\\slash plain`,
    );
  });
  it('name=value assignment form, unset, undefined variables expand to nothing', async () => {
    expect(await cmdlines(`x=1\nset y=2\nunset y\n${show('$x [$y] [$nope]')}`)).toEqual(['1 [] []']);
  });
  it('platform variables are set and documented', async () => {
    expect(
      await cmdlines(show('$grub_platform $grub_cpu $feature_menuentry_id $feature_timeout_style $feature_200_final')),
    ).toEqual(['efi x86_64 y y y']);
    expect(PLATFORM_VARIABLE_NAMES).toEqual(
      expect.arrayContaining(['grub_platform', 'grub_cpu', 'feature_nativedisk_cmd', 'root', 'prefix', 'cmdpath']),
    );
    expect(await cmdlines(show('$prefix'))).toEqual(['(tendril:vda%3A1)/boot/grub']);
  });
});

describe('control flow', () => {
  it('menuentry arguments are positional parameters: $1 is the title, extras from $2 ($# $* "$@")', async () => {
    expect(await cmdlines(`menuentry 'T' one "two words" {\n linux /k $1 $2 "$3" $# [$*] "$@"\n}\n`)).toEqual([
      'T one "two words" 3 [T one two words] T one "two words"',
    ]);
  });
  it('$chosen is the --id/title path of the entry being run', async () => {
    expect(
      await cmdlines(
        "submenu 'S' --id s { menuentry 'E' { linux /k $chosen; }; menuentry 'F' --id f { linux /k $chosen; } }\n",
      ),
    ).toEqual(['s>E', 's>f']);
  });
  it('functions with parameters, return status, $?, shift', async () => {
    const cfg = `function f { set r="$1-$#"; shift; set s="$1"; return 3 }\nf a b c\nset st=$?\n${show('$r $s $st')}`;
    expect(await cmdlines(cfg)).toEqual(['a-3 b 3']);
  });
  it('if/elif/else picks by the last command status', async () => {
    const cfg = `if false; then set v=1; elif [ a = b ]; then set v=2; elif true; false; then set v=3; else set v=4; fi\n${show('$v')}`;
    expect(await cmdlines(cfg)).toEqual(['4']);
  });
  it('for, while, until, break and continue', async () => {
    const cfg = [
      'for i in a b c d; do if [ $i = b ]; then continue; fi; if [ $i = d ]; then break; fi; set l="$l$i"; done',
      'set w=; while [ "$w" != xxx ]; do set w="${w}x"; done',
      'set u=; until [ "$u" = yy ]; do set u="${u}y"; done',
      show('$l $w $u'),
    ].join('\n');
    expect(await cmdlines(cfg)).toEqual(['ac xxx yy']);
  });
  it('test operators of docs/grub-syslinux.md §A5 (strings, numbers, ! -a -o, parentheses, files)', async () => {
    const cases: [string, boolean][] = [
      ['[ a = a ]', true],
      ['[ a == b ]', false],
      ['[ a != b ]', true],
      ['[ 10 -gt 9 ]', true],
      ['[ 2 -le 1 ]', false],
      ['[ 0x10 -eq 16 ]', true],
      ['[ -n "" ]', false],
      ['[ -z "" ]', true],
      ['[ ! -z x ]', true],
      ['[ a = b -o c = c ]', true],
      ['[ a = a -a c = d ]', false],
      ['[ ( a = b ) -o ( 1 -lt 2 ) ]', true],
      ['[ -f /k ]', true],
      ['[ -f /boot ]', false],
      ['[ -d /boot ]', true],
      ['[ -e /missing ]', false],
      ['[ -s /empty ]', false],
      ['[ -s /k ]', true],
      ['[ -f (hd0,gpt1)/k ]', true],
      ['test -e /boot/grub/grub.cfg', true],
      ['[ x ]', true],
      ['[ ]', false],
    ];
    const cfg =
      cases.map(([c], i) => `if ${c}; then set r${i}=1; else set r${i}=0; fi`).join('\n') +
      '\n' +
      show(cases.map((_, i) => `$r${i}`).join(''));
    expect(await cmdlines(cfg, { empty: '' })).toEqual([cases.map(([, v]) => (v ? '1' : '0')).join('')]);
  });
  it('source runs in the same context; configfile starts a new menu', async () => {
    const s = await runCfg(`set from=main\nsource /boot/grub/inc.cfg\nmenuentry 'main' {\n linux /k $incvar\n}\n`, {
      'boot/grub/inc.cfg': `set incvar=fromsource\nmenuentry 'included' {\n linux /k $from\n}\n`,
    });
    expect(s.entries.map((e) => [e.title, (targetOf(e) as LinuxTarget).cmdline])).toEqual([
      ['included', 'main'],
      ['main', 'fromsource'],
    ]);
    const c = await runCfg(
      `set carried=yes\nmenuentry 'dropped' {\n linux /k\n}\nconfigfile /boot/grub/other.cfg\nmenuentry 'never' {\n linux /k\n}\n`,
      {
        'boot/grub/other.cfg': `menuentry 'other' {\n linux /k $carried\n}\n`,
      },
    );
    expect(c.entries.map((e) => [e.title, (targetOf(e) as LinuxTarget).cmdline, e.origin.file])).toEqual([
      ['other', 'yes', '/boot/grub/other.cfg'],
    ]);
  });
  it('entry bodies run later, in a copy of the final environment', async () => {
    expect(await cmdlines(`set v=early\n${show('$v')}set v=late\n${show('$v; set v=changed')}${show('$v')}`)).toEqual([
      'late',
      'late',
      'late',
    ]);
  });
});

describe('devices, search and probe (docs/grub-syslinux.md §A6)', () => {
  const more: FsSpec[] = [
    {
      device: 'vda',
      partition: 2,
      type: 'ext4',
      uuid: 'AAAA0000-1111-4222-8333-444455556666',
      label: 'data',
      partLabel: 'rootpart',
      files: { 'x/k2': 'k', marker: 'm' },
    },
    { device: 'vdb', partition: 1, type: 'vfat', uuid: 'B00B-CAFE', label: 'ESP2', files: { k3: 'k' } },
  ];
  // The kernel the entry names (booted or only declared); none when its device is not there.
  const target = async (cfg: string): Promise<{ ref: LinuxTarget['kernel'] | undefined; ok: boolean; why: string }[]> =>
    (await runCfg(cfg, {}, {}, more)).entries.map((e) => ({
      ref: ((targetOf(e) ?? declaredOf(e)) as LinuxTarget | undefined)?.kernel,
      ok: isBootable(e),
      why: e.diagnostics.map((d) => d.message).join('; '),
    }));

  it('search --fs-uuid (case-insensitive), --label (filesystem label, not GPT name), --file, search.fs_uuid VAR', async () => {
    const r = await target(
      [
        'menuentry u { search --no-floppy --fs-uuid --set=root aaaa0000-1111-4222-8333-444455556666; linux /x/k2; }',
        'menuentry f { search -u -s b00b-cafe; linux /k3; }',
        'menuentry l { search --label --set=d data; linux ($d)/x/k2; }',
        'menuentry p { search --label --set=d rootpart; linux ($d)/x/k2; }',
        'menuentry m { search --file --set /marker; linux /x/k2; }',
        'menuentry s { search.fs_uuid B00B-CAFE dev hd1,gpt1; linux ($dev)/k3; }',
      ].join('\n'),
    );
    expect(r.map((x) => [x.ref?.fsId, x.ok])).toEqual([
      ['vda:2', true],
      ['vdb:1', true],
      ['vda:2', true],
      [undefined, false], // no device: no kernel named (never the config's own filesystem as a stand-in)
      ['vda:2', true],
      ['vdb:1', true],
    ]);
    expect(r[3]!.why).toContain('empty device name');
  });
  it('(hdN,gptM) / (hdN,msdosM) / (hdN,M) mean partition M of the config disk; cd0 and bare names are unresolved', async () => {
    const r = await target(
      [
        'menuentry a { linux (hd0,gpt2)/x/k2; }',
        "menuentry b { set root='hd3,msdos2'; linux /x/k2; }",
        'menuentry c { set root=(hd0,1); linux /k; }',
        'menuentry d { linux (cd0)/k; }',
        'menuentry e { linux vmlinuz; }',
        'menuentry g { linux (hd0,gpt9)/k; }',
      ].join('\n'),
    );
    expect(r.map((x) => [x.ref?.fsId, x.ok])).toEqual([
      ['vda:2', true],
      ['vda:2', true],
      ['vda:1', true],
      // Unresolved devices and paths name no kernel: no stand-in on the config's filesystem.
      [undefined, false],
      [undefined, false],
      [undefined, false],
    ]);
    expect(r[3]!.why).toContain('optical');
    expect(r[4]!.why).toContain('not an absolute path');
    expect(r[5]!.why).toContain('partition 9');
  });
  it('probe --fs-uuid/--label --set', async () => {
    const s = await runCfg(
      `probe --fs-uuid --set=u (hd0,gpt2)\nprobe -l --set=l hd0,gpt2\n${show('$u $l')}`,
      {},
      {},
      more,
    );
    expect((targetOf(s.entries[0]!) as LinuxTarget).cmdline).toBe('AAAA0000-1111-4222-8333-444455556666 data');
  });
});

describe('defaults (docs/grub-syslinux.md §A7)', () => {
  const menu = [
    "menuentry 'Zero' --id zero { linux /k; }",
    "submenu 'Sub >menu' --id sub {",
    "  menuentry 'One' --id one { linux /k; }",
    "  menuentry 'Two' { linux /k; }",
    '}',
    "menuentry 'Three' { linux /k; }",
  ].join('\n');
  const pick = async (spec: string): Promise<string | undefined> => {
    const s = await runCfg(`set default="${spec}"\n${menu}\n`);
    return s.entries.find((e) => e.sourceId === s.settings?.defaultId)?.title;
  };
  it('index, id, title, > paths mixing forms, >> escape, unmatched → entry 0', async () => {
    expect(await pick('2')).toBe('Three');
    expect(await pick('zero')).toBe('Zero');
    expect(await pick('Three')).toBe('Three');
    expect(await pick('1>1')).toBe('Two');
    expect(await pick('sub>one')).toBe('One');
    expect(await pick('Sub >>menu>Two')).toBe('Two');
    expect(await pick('1')).toBe('One');
    expect(await pick('nothing')).toBe('Zero');
    expect(await pick('9')).toBe('Zero');
  });
  it('timeout -1 forces the menu; fallback is resolved', async () => {
    const s = await runCfg(`set timeout=-1\nset fallback="1>0 2"\n${menu}\n`);
    expect(s.settings?.timeout).toEqual({ kind: 'menu-force' });
    expect(s.configs[0]!.fallbackIds.map((id) => s.entries.find((e) => e.sourceId === id)?.title)).toEqual([
      'One',
      'Three',
    ]);
  });
  it('duplicate titles get distinct ids', async () => {
    const s = await runCfg("menuentry 'A' { linux /k; }\nmenuentry 'A' { linux /k; }\n");
    expect(s.entries.map((e) => e.sourceId)).toEqual([
      'grub:vda:1:/boot/grub/grub.cfg:A',
      'grub:vda:1:/boot/grub/grub.cfg:A#2',
    ]);
  });
});

describe('sandbox limits end in diagnostics naming file, line and limit', () => {
  const lim = { ...DEFAULT_LIMITS, maxSteps: 50_000, maxLoopIterations: 5_000 };
  const errs = (s: { diagnostics: { severity: string; message: string; file?: string; line?: number }[] }) =>
    s.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}`);

  it('infinite recursion: function f { f; }', async () => {
    const s = await runCfg("function f { f; }\nf\nmenuentry 'after' { linux /k; }\n", {}, { limits: lim });
    expect(errs(s).join('\n')).toMatch(
      /\/boot\/grub\/grub.cfg:1: limit reached: nesting deeper than 32 \(calling function f\)/,
    );
    expect(s.entries.map((e) => e.title)).toEqual(['after']);
  });
  it('huge expansion: set a=$a$a in a loop', async () => {
    const s = await runCfg(
      "set a=x\nwhile true; do set a=$a$a; done\nmenuentry 'after' { linux /k; }\n",
      {},
      { limits: lim },
    );
    expect(errs(s).join('\n')).toMatch(/grub.cfg:2: limit reached: (word|value of a) longer than 65536 bytes/);
    expect(s.entries).toHaveLength(1);
  });
  it('endless loop: loop iteration budget', async () => {
    const s = await runCfg("while true; do true; done\nmenuentry 'after' { linux /k; }\n", {}, { limits: lim });
    expect(errs(s).join('\n')).toMatch(/grub.cfg:1: limit reached: more than 5000 loop iterations/);
    expect(s.entries).toHaveLength(1);
  });
  it('source of itself and configfile A → B → A', async () => {
    const s = await runCfg("source /boot/grub/grub.cfg\nmenuentry 'after' { linux /k; }\n");
    expect(errs(s).join('\n')).toMatch(/grub.cfg:1: include loop/);
    expect(s.entries).toHaveLength(1);
    const c = await runCfg('configfile /boot/grub/b.cfg\n', {
      'boot/grub/b.cfg': "menuentry 'b' { linux /k; }\nconfigfile /boot/grub/grub.cfg\n",
    });
    expect(errs(c).join('\n')).toMatch(/b.cfg:2: include loop/);
    expect(c.entries.map((e) => e.title)).toEqual(['b']);
  });
  it('deep source chain and too many entries', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`boot/grub/s${i}.cfg`] = `source /boot/grub/s${i + 1}.cfg\n`;
    const s = await runCfg("source /boot/grub/s0.cfg\nmenuentry 'after' { linux /k; }\n", files);
    expect(errs(s).join('\n')).toMatch(/nesting deeper than 32 \(source/);
    const many = await runCfg(
      'for i in 1 2 3 4 5 6 7 8; do menuentry "e$i" { linux /k; }; done\n',
      {},
      { limits: { ...lim, maxEntries: 5 } },
    );
    expect(many.entries).toHaveLength(5);
    expect(errs(many).join('\n')).toMatch(/grub.cfg:1: limit reached: more than 5 menu entries/);
  });
  it('a file over the size limit is refused with a diagnostic', async () => {
    const s = await runCfg(
      'source /boot/grub/big.cfg\n',
      { 'boot/grub/big.cfg': '#'.repeat(5000) },
      { limits: { ...lim, maxFileBytes: 4096 } },
    );
    expect(errs(s).join('\n')).toMatch(/grub.cfg:1: cannot read \/boot\/grub\/big.cfg: EFBIG/);
  });
});

describe('regexp', () => {
  it('sets groups; quantified groups are matched, in linear time, not refused', async () => {
    const s = await runCfg(
      `regexp --set=1:d --set=2:f '^(.*)/([^/]*)$' /isos/x.iso\nregexp --set=r '^(a|a)*$' aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\nset rs=$?\n${show('$d $f [$r] $rs')}`,
    );
    expect((targetOf(s.entries[0]!) as LinuxTarget).cmdline).toBe('/isos x.iso [] 1');
    expect(s.diagnostics.filter((d) => d.message.includes('regexp'))).toEqual([]);
  });
});

describe('broken input and environment files', () => {
  it('a parse error names file, line and reason; the rest of the file still yields entries', async () => {
    const s = await runCfg(
      "menuentry 'A' { linux /k; }\nif [ x ]; then\n  set a=1\nmenuentry 'B' {\n  linux /k\n}\n",
      {},
    );
    const e = s.diagnostics.find((d) => d.message.startsWith('parse error'));
    expect(e).toMatchObject({ severity: 'error', fsId: 'vda:1', file: '/boot/grub/grub.cfg' });
    expect(e!.message).toMatch(/parse error: .*'fi'/);
    expect(s.entries.map((x) => x.title)).toEqual(['A', 'B']);
  });
  it('load_env -f FILE with a variable list imports only those; save_env is recorded, not written', async () => {
    const { grubenv } = await import('./helpers');
    const env = grubenv({ a: 'one', b: 'two' });
    const s = await runCfg(
      `load_env -f /boot/grub/other.env a\nset a="$a!"\nsave_env -f /boot/grub/other.env a\n${show('[$a] [$b]')}`,
      { 'boot/grub/other.env': env },
    );
    expect((targetOf(s.entries[0]!) as LinuxTarget).cmdline).toBe('[one!] []');
    expect(s.configs[0]!.saveEnv).toEqual([
      {
        fsId: 'vda:1',
        path: '/boot/grub/other.env',
        values: new Map([['a', 'one!']]),
        file: '/boot/grub/grub.cfg',
        line: 3,
      },
    ]);
  });
  it('step budget and environment size limits', async () => {
    const steps = await runCfg(
      "function f { true; true; true; }\nfor i in 1 2 3 4 5 6 7 8 9 10; do f; f; f; done\nmenuentry 'after' { linux /k; }\n",
      {},
      { limits: { ...DEFAULT_LIMITS, maxSteps: 40 } },
    );
    expect(steps.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n')).toMatch(
      /1: limit reached: more than 40 commands executed/,
    );
    const env = await runCfg(
      'set a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nfor i in 1 2 3 4 5 6 7 8; do set a$i=$a$a$a$a; done\n',
      {},
      { limits: { ...DEFAULT_LIMITS, maxEnvBytes: 512 } },
    );
    expect(env.diagnostics.map((d) => `${d.line}: ${d.message}`).join('\n')).toMatch(
      /2: limit reached: variables larger than 512 bytes/,
    );
  });
});

describe('loader commands', () => {
  it('devicetree, newc: initrds, initrd before linux, linuxefi/initrdefi, a later linux resets initrds', async () => {
    const s = await runCfg(
      [
        'menuentry dt { linux /k console=ttyAMA0; initrd /i1 newc:extra.cpio:/i2; devicetree /dtb; }',
        'menuentry early { initrd /i1; linuxefi /k; initrdefi /i2; }',
        'menuentry twice { linux /k a; initrd /i1; linux16 /k b; }',
      ].join('\n'),
      { dtb: 'd' },
    );
    const [dt, early, twice] = s.entries.map((e) => targetOf(e) as LinuxTarget);
    expect(dt).toEqual({
      kind: 'linux',
      kernel: { fsId: 'vda:1', path: '/k' },
      initrds: [
        { fsId: 'vda:1', path: '/i1' },
        { fsId: 'vda:1', path: '/i2' },
      ],
      cmdline: 'console=ttyAMA0',
      devicetree: { fsId: 'vda:1', path: '/dtb' },
    });
    expect(s.entries[0]!.diagnostics.map((d) => d.message).join()).toContain('newc: naming is not reproduced');
    expect(early!.initrds).toEqual([{ fsId: 'vda:1', path: '/i2' }]);
    expect(s.entries[1]!.diagnostics.map((d) => d.message).join()).toContain('you need to load the kernel first');
    expect([twice!.cmdline, twice!.initrds]).toEqual(['b', []]);
  });
});

describe('broken entries name no invented target', () => {
  it('chainloader +1 (a BIOS boot sector), a missing or unlocatable file: reason, declared only when located', async () => {
    const s = await runCfg(
      [
        'menuentry bios { insmod chain; set root=(hd0,1); chainloader +1; }',
        'menuentry efi { chainloader /EFI/gone.efi; }',
        'menuentry nodev { chainloader (cd0)/x.efi; }',
        'menuentry lin { linux /k root=x; initrd /i1 /gone.img; }',
      ].join('\n'),
    );
    const [bios, efi, nodev, lin] = s.entries;
    // Before, `chainloader +1` got an `efi` target with the path '+1' on the config's filesystem.
    expect([targetOf(bios!), declaredOf(bios!)]).toEqual([undefined, undefined]);
    expect(reasonOf(bios!)).toBe('chainloader +1 boots a BIOS boot sector; not supported (no BIOS under tendril)');
    expect(targetOf(efi!)).toBeUndefined();
    expect(declaredOf(efi!)).toEqual({ kind: 'efi', image: { fsId: 'vda:1', path: '/EFI/gone.efi' } });
    expect(reasonOf(efi!)).toMatch(/^chainloader \/EFI\/gone.efi not found on vda:1/);
    expect([targetOf(nodev!), declaredOf(nodev!)]).toEqual([undefined, undefined]);
    expect(reasonOf(nodev!)).toMatch(/^chainloader \(cd0\)\/x.efi: /);
    expect(declaredOf(lin!)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'vda:1', path: '/k' },
      initrds: [
        { fsId: 'vda:1', path: '/i1' },
        { fsId: 'vda:1', path: '/gone.img' },
      ],
      cmdline: 'root=x',
    });
    expect(reasonOf(lin!)).toMatch(/^initrd \/gone.img not found on vda:1/);
  });
});

describe('eval', () => {
  it('runs its words as script in the current context; self-eval recursion ends in a limit', async () => {
    const s = await runCfg(
      `set cmd='set v=from_eval'\neval $cmd\neval "set w=\\$v"\n${show('$v $w')}\nset loop='eval $loop'\neval $loop\n`,
    );
    expect((targetOf(s.entries[0]!) as LinuxTarget).cmdline).toBe('from_eval from_eval');
    expect(
      s.diagnostics.some((d) => /limit reached: nesting deeper than 32 \(eval\)/.test(d.message) && d.line === 9),
    ).toBe(true);
  });
});

describe('wildcards', () => {
  it('unquoted * ? [..] in the last component expand to sorted matches; quoted or unmatched stay', async () => {
    const files = { 'isos/b.iso': 'x', 'isos/a.iso': 'x', 'isos/notes.txt': 'x', 'isos/c1.img': 'x' };
    const cfg = [
      'for iso in /isos/*.iso; do',
      '  menuentry "$iso" "$iso" { linux /k iso=$2; }',
      'done',
      show('/isos/c?.img (hd0,gpt1)/isos/[ab].iso "/isos/*.iso" /isos/*.none /i*/x'),
    ].join('\n');
    const s = await runCfg(cfg, files);
    expect(s.entries.map((e) => [e.title, (targetOf(e) as LinuxTarget).cmdline])).toEqual([
      ['/isos/a.iso', 'iso=/isos/a.iso'],
      ['/isos/b.iso', 'iso=/isos/b.iso'],
      ['t', '/isos/c1.img (hd0,gpt1)/isos/a.iso (hd0,gpt1)/isos/b.iso /isos/*.iso /isos/*.none /i*/x'],
    ]);
  });
});
