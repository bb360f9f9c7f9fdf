// The iPXE interpreter (docs/net-bootfiles.md §4): settings and their types, && || ; and the
// failing-line rule, goto, menus as one entry per item, chain to scripts / kernels / EFI,
// exit, sanboot, imgargs/imgfree, errors naming URL and line, and the limits.
import { describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { netbootEntries } from '../../../src/net/entries';
import {
  MAX_TOTAL_STEPS,
  type IpxeError,
  RUN_LIMITS,
  exploreIpxe,
  runIpxe,
  type IpxeOutcome,
} from '../../../src/net/ipxe';
import { pathToUrl } from '../../../src/net/netfs';
import type { Lease } from '../../../src/net/types';
import { LEASE, UUID, memFetch, tinyBzImage, type Served } from './memfetch';

const URL0 = 'http://192.0.2.1/boot/boot.ipxe';
const lease: Lease = { ...LEASE, bootUrl: URL0 };
const smbios = { uuid: UUID, manufacturer: 'Tendril Labs', product: 'T-1000', serial: 'SN 42/7' };
const enc = (s: string) => new TextEncoder().encode(s);

async function run(script: string, files: Record<string, Served> = {}, choices: string[] = []) {
  const m = memFetch(files);
  const r = await runIpxe(URL0, enc(script), {
    builtins: { lease, smbios, scriptUrl: URL0 },
    fetchFile: async (u) => (await m.fetch(u, { maxBytes: 1 << 30 })).bytes,
    choices,
  });
  return { ...r, asked: m.asked };
}
/** The command line the script boots with (fails the test otherwise). */
async function bootArgs(script: string, files: Record<string, Served> = {}): Promise<string> {
  const r = await run(script, files);
  if (r.outcome.kind !== 'linux') throw new Error(`not a boot: ${JSON.stringify(r.outcome)}`);
  return r.outcome.kernel.args;
}
const errorOf = (o: IpxeOutcome): IpxeError => {
  if (o.kind !== 'error') throw new Error(`expected an error, got ${o.kind}`);
  return o.error;
};

describe('settings', () => {
  it('lease and SMBIOS settings with type suffixes and scopes', async () => {
    const args = await bootArgs(
      [
        '#!ipxe',
        'kernel vmlinuz a=${mac} b=${net0/mac:hexhyp} c=${netX/mac:hexraw} d=${ip} e=${netmask} f=${gateway} g=${dns}',
        'imgargs vmlinuz ${} h=${uuid} i=${platform} j=${buildarch} k=${manufacturer:uristring} l=${serial:uristring} m=${next-server} n=${hostname}.${domain} o=${unset} p=${smbios/product}',
        'boot',
      ].join('\n'),
    );
    // `${}` (a bad name) expands to an empty argument, kept as iPXE keeps it: hence the leading blank.
    expect(args).toBe(
      ` h=${UUID} i=efi j=x86_64 k=Tendril%20Labs l=SN%2042%2F7 m=192.0.2.1 n=client1.example.test o= p=T-1000`,
    );
    const first = await run(
      '#!ipxe\nkernel vmlinuz a=${mac} b=${net0/mac:hexhyp} c=${netX/mac:hexraw} d=${ip} e=${netmask} f=${gateway} g=${dns}\nboot',
    );
    expect(first.outcome.kind === 'linux' && first.outcome.kernel.args).toBe(
      'a=52:54:00:ab:cd:ef b=52-54-00-ab-cd-ef c=525400abcdef d=192.0.2.91 e=255.255.255.0 f=192.0.2.1 g=192.0.2.53',
    );
  });
  it('typed set: hex stored as bytes and read back as string; nested ${${x}}', async () => {
    expect(
      await bootArgs(
        '#!ipxe\nset cls:hex 41:42:43\nset which cls\nkernel k ${cls:string} ${cls} ${${which}:hexhyp}\nboot',
      ),
    ).toBe('ABC 41:42:43 41-42-43');
  });
  it('a bad typed value fails the command (caught by ||)', async () => {
    expect(await bootArgs('#!ipxe\nset x:ipv4 300.1.1.1 || set x failed\nkernel k ${x}\nboot')).toBe('failed');
  });
});

describe('control flow', () => {
  it('&& and || follow the last return code; ; always runs', async () => {
    const s = [
      '#!ipxe',
      'iseq ${buildarch} x86_64 && set arch x64 || set arch other',
      'iseq ${buildarch} arm64 && set b yes || set b no',
      'isset ${unset} || set c unset ; set d always',
      'isset ${arch} && set e set',
      'kernel k ${arch} ${b} ${c} ${d} ${e}',
      'boot',
    ].join('\n');
    expect(await bootArgs(s)).toBe('x64 no unset always set');
  });
  it('a failing line ends the script with an error naming the URL, the line and the command', async () => {
    const r = await run('#!ipxe\necho hi\n\niseq a b\nkernel k\nboot');
    const e = errorOf(r.outcome);
    expect(e.message).toBe(`${URL0}:4: iseq: failed`);
    expect([e.url, e.line]).toEqual([URL0, 4]);
    const r2 = await run('#!ipxe\nfrobnicate --now\n');
    expect(errorOf(r2.outcome).message).toBe(`${URL0}:2: frobnicate: command not found in tendril's iPXE subset`);
  });
  it('goto jumps to a label; a missing label fails', async () => {
    expect(await bootArgs('#!ipxe\ngoto two\n:one\nkernel k one\nboot\n:two\nkernel k two\nboot')).toBe('two');
    expect(errorOf((await run('#!ipxe\ngoto nowhere\n')).outcome).message).toBe(`${URL0}:2: goto: no label "nowhere"`);
  });
  it('a label line may carry a command, which runs when reached and after a goto to it', async () => {
    expect(await bootArgs('#!ipxe\nset n 0\n:again inc n\niseq ${n} 3 || goto again\nkernel k ${n}\nboot')).toBe('3');
  });
  it('a goto ends its line: nothing after it on the line runs, even after ;', async () => {
    expect(await bootArgs('#!ipxe\ngoto there ; set x ran\n:there\nkernel k [${x}]\nboot')).toBe('[]');
  });
  it('goto takes exactly one argument; an empty one finds a bare ":" label', async () => {
    expect(errorOf((await run('#!ipxe\ngoto a b\n:a\n')).outcome).message).toBe(`${URL0}:2: goto: usage: goto <label>`);
    expect(await bootArgs('#!ipxe\ngoto ${unset}\nkernel k no\nboot\n:\nkernel k yes\nboot')).toBe('yes');
  });
  it('a goto loop ends at the step limit as a limit error', async () => {
    const e = errorOf((await run('#!ipxe\n:top\ngoto top\n')).outcome);
    expect(e.limit).toBe(true);
    expect(e.message).toContain(`more than ${RUN_LIMITS.steps} commands`);
  });
  it('comments and line continuations', async () => {
    expect(await bootArgs('#!ipxe\n# a comment\nkernel k a \\\n b # trailing\nboot')).toBe('a b');
  });
  it('exit → no boot; the script ending without boot → end; sanboot of http → a network disk, of a SAN → refused', async () => {
    expect((await run('#!ipxe\nexit 0\nkernel k\nboot')).outcome.kind).toBe('exit');
    expect((await run('#!ipxe\necho nothing here\n')).outcome.kind).toBe('end');
    const s = (await run('#!ipxe\nsanboot --no-describe http://192.0.2.1/x.iso\n')).outcome;
    expect(s.kind === 'sanboot' && s.image.url).toBe('http://192.0.2.1/x.iso');
    const san = (await run('#!ipxe\nsanboot iscsi:192.0.2.1::::iqn.2010-04.org.ipxe:disk\n')).outcome;
    expect(san.kind === 'refused' && san.reason).toMatch(/sanboot iscsi:.*only one http or https disk image/);
    // An NVMe/TCP target (docs/net-nvme.md §4): not resolved as a file URL, settings expanded.
    const nv = (await run('#!ipxe\nset t nqn.2026-12.org.example:disk\nsanboot nvme+tcp://192.0.2.1:4420/${t}\n'))
      .outcome;
    expect(nv.kind === 'sanboot' && nv.image.url).toBe('nvme+tcp://192.0.2.1:4420/nqn.2026-12.org.example:disk');
  });
  it('prompt is an unanswered prompt; sleep/ntp are skipped with a note', async () => {
    const r = await run(
      '#!ipxe\nprompt --timeout 2000 Press a key && set k pressed || set k none\nsleep 5\nntp pool.ntp.org\nkernel k ${k}\nboot',
    );
    expect(r.outcome.kind === 'linux' && r.outcome.kernel.args).toBe('none');
    expect(r.notes.map((n) => n.message).join('\n')).toMatch(/sleep: not needed/);
  });
});

describe('images', () => {
  it('kernel + initrd + boot; relative URLs resolve against the script; imgargs and imgfree', async () => {
    const r = await run(
      '#!ipxe\ninitrd stale.img\nimgfree\nkernel --name k ../k/vmlinuz old\ninitrd initrd.img\ninitrd http://198.51.100.2/extra.img\nimgargs k console=ttyS0 initrd=initrd.img\nboot k',
    );
    expect(r.outcome).toMatchObject({
      kind: 'linux',
      kernel: { url: 'http://192.0.2.1/k/vmlinuz', name: 'k', args: 'console=ttyS0 initrd=initrd.img' },
      initrds: [{ url: 'http://192.0.2.1/boot/initrd.img' }, { url: 'http://198.51.100.2/extra.img' }],
    });
    expect(r.asked).toEqual([]); // kernels and initrds are fetched when the entry boots, not now
  });
  it('a file URL, or a URL with another scheme, fails the command', async () => {
    const e = errorOf((await run('#!ipxe\nkernel file:///etc/shadow\nboot')).outcome);
    expect(e.message).toMatch(/:2: .*scheme file: is not permitted/);
  });
  it('boot without a kernel fails', async () => {
    expect(errorOf((await run('#!ipxe\nboot')).outcome).message).toBe(`${URL0}:2: boot: no kernel image selected`);
  });
});

describe('chain', () => {
  it('to another script (args as ${1}...), which continues the caller when it ends or exits', async () => {
    const r = await run(
      '#!ipxe\nchain sub.ipxe hello\nchain other.ipxe || set failed yes\nkernel k ${from} ${1} ${failed}\nboot',
      {
        'http://192.0.2.1/boot/sub.ipxe': '#!ipxe\nset from sub-${1}\n',
        'http://192.0.2.1/boot/other.ipxe': '#!ipxe\nexit 1\n',
      },
    );
    expect(r.outcome.kind === 'linux' && r.outcome.kernel.args).toBe('sub-hello hello yes');
  });
  it('to a kernel: boots it with the chain arguments and the initrds loaded before', async () => {
    const r = await run('#!ipxe\ninitrd i.img\nchain --autofree vmlinuz ro quiet', {
      'http://192.0.2.1/boot/vmlinuz': tinyBzImage(),
    });
    expect(r.outcome).toMatchObject({
      kind: 'linux',
      kernel: { url: 'http://192.0.2.1/boot/vmlinuz', args: 'ro quiet' },
      initrds: [{ url: 'http://192.0.2.1/boot/i.img' }],
    });
  });
  it('to *.efi: an EFI target without fetching; to an unknown file: the command fails naming it', async () => {
    const r = await run('#!ipxe\nchain grubx64.efi');
    expect(r.outcome).toMatchObject({ kind: 'efi', image: { url: 'http://192.0.2.1/boot/grubx64.efi' } });
    expect(r.asked).toEqual([]);
    const u = await run('#!ipxe\nchain blob.bin', { 'http://192.0.2.1/boot/blob.bin': 'random junk' });
    expect(errorOf(u.outcome).message).toMatch(
      /^http:\/\/192\.0\.2\.1\/boot\/boot\.ipxe:2: chain: http:\/\/192\.0\.2\.1\/boot\/blob\.bin: \d+ bytes that are neither/,
    );
  });
  it('a script chaining itself ends at the chain depth limit', async () => {
    const e = errorOf((await run('#!ipxe\nchain boot.ipxe', { [URL0]: '#!ipxe\nchain boot.ipxe\n' })).outcome);
    expect(e.limit).toBe(true);
    expect(e.message).toContain(`chain depth over ${RUN_LIMITS.chainDepth}`);
  });
  it('a missing chained script fails the chain; without || the script errs naming the line', async () => {
    const e = errorOf((await run('#!ipxe\necho x\nchain missing.ipxe')).outcome);
    expect([e.line, e.message]).toEqual([3, expect.stringContaining('File not found') as unknown]);
  });
});

// A netboot.xyz-style menu: iseq/goto/choose/chain, a submenu, a back item, an exit item.
const MENU = `#!ipxe
:start
iseq \${platform} efi && set menu_arch efi || set menu_arch pcbios
menu Tendril test menu for \${menu_arch}
item --gap -- Installers:
item debian Debian installer
item fedora Fedora (chained)
item --key s more Submenu...
item --gap -- Other:
item shell iPXE shell
item exit Exit to tendril
choose --default fedora --timeout 10000 target && goto \${target} || goto start
:debian
kernel http://198.51.100.3/debian/linux auto=true priority=critical
initrd http://198.51.100.3/debian/initrd.gz
boot || goto failed
:fedora
chain --autofree fedora.ipxe || goto failed
:more
menu Submenu
item rescue Rescue
item broken Broken entry
item back Back
choose sub || goto start
goto sub-\${sub}
:sub-rescue
kernel rescue/vmlinuz rescue
boot
:sub-broken
kernel rescue/vmlinuz
initrd ftp://198.51.100.3/x.img
boot
:sub-back
goto start
:shell
shell
:exit
exit
:failed
echo Booting failed
exit 1
`;

describe('menus become entries', () => {
  it('each item is an entry titled by its text; choose --default marks the default; exit, back and shell make none or a broken one', async () => {
    const m = memFetch({
      [URL0]: MENU,
      'http://192.0.2.1/boot/fedora.ipxe':
        '#!ipxe\nkernel vmlinuz inst.repo=http://198.51.100.3/fedora\ninitrd initrd.img\nboot\n',
    });
    const r = await netbootEntries(lease, m.fetch, { smbios });
    const summary = r.entries.map((e: SourceEntry) => [e.title, e.status.ok ? 'ok' : e.status.reason]);
    expect(summary).toEqual([
      ['iPXE: Debian installer (192.0.2.1)', 'ok'],
      ['iPXE: Fedora (chained) (192.0.2.1)', 'ok'],
      ['iPXE: iPXE shell (192.0.2.1)', `${URL0}:36: shell: no iPXE shell in tendril (the rescue shell is in its menu)`],
      ['iPXE: Submenu... > Rescue (192.0.2.1)', 'ok'],
      [
        'iPXE: Submenu... > Broken entry (192.0.2.1)',
        expect.stringMatching(new RegExp(`^${URL0}:31: initrd: ftp://.*scheme ftp: is not permitted`)) as unknown,
      ],
    ]);
    const t = (i: number) => (r.entries[i]!.status.ok ? (r.entries[i]!.status.target as LinuxTarget) : undefined)!;
    expect(pathToUrl(t(1).kernel.path)).toBe('http://192.0.2.1/boot/vmlinuz');
    expect(t(1).cmdline).toBe('inst.repo=http://198.51.100.3/fedora');
    expect(pathToUrl(t(3).kernel.path)).toBe('http://192.0.2.1/boot/rescue/vmlinuz');
    expect(t(0).initrds.map((f) => pathToUrl(f.path))).toEqual(['http://198.51.100.3/debian/initrd.gz']);
    expect(r.defaultId).toBe(r.entries[1]!.sourceId);
    expect(r.timeout).toEqual({ kind: 'seconds', seconds: 10 });
    expect(r.entries[0]!.origin).toMatchObject({ source: 'ipxe', device: 'eth0', file: URL0, line: 16 });
    const infos = r.diagnostics.map((d) => d.message);
    expect(infos).toContain('Exit to tendril: exit: back to the menu; no entry');
    expect(infos).toContain('Submenu... > Back: leads back to a menu already shown; no entry');
  });
});

describe('menu exploration bounds', () => {
  const opts = {
    builtins: { lease },
    fetchFile: async (u: string): Promise<Uint8Array> => {
      throw new Error(`unexpected fetch ${u}`);
    },
  };
  it('items sharing a label are one path', async () => {
    const x = await exploreIpxe(
      URL0,
      enc('#!ipxe\nmenu M\nitem a One\nitem a Again\nchoose t\nkernel k ${t}\nboot\n'),
      opts,
    );
    expect(x.paths.map((p) => p.choices)).toEqual([['a']]);
  });
  it('a menu whose items all spin is cut by the step budget over all runs, not run item by item to the end', async () => {
    const items = Array.from({ length: 40 }, (_, i) => `item i${i} Item ${i}`).join('\n');
    const x = await exploreIpxe(URL0, enc(`#!ipxe\nmenu M\n${items}\nchoose t\n:spin\ngoto spin\n`), opts);
    expect(x.truncated).toBe(true);
    expect(x.paths.length).toBe(Math.ceil(MAX_TOTAL_STEPS / RUN_LIMITS.steps));
    for (const p of x.paths) expect(p.outcome.kind === 'error' && p.outcome.error.limit).toBe(true);
  });
});

describe('what tendril does not do yet is said, not done wrong', () => {
  it('an initrd with a destination path (iPXE cpio wrapping) gives an entry that does not boot, naming the URL and line', async () => {
    const m = memFetch({ [URL0]: '#!ipxe\nkernel vmlinuz\ninitrd conf.txt /etc/conf.txt mode=600\nboot\n' });
    const r = await netbootEntries(lease, m.fetch);
    expect(r.entries).toHaveLength(1);
    const s = r.entries[0]!.status;
    expect(s.ok ? '' : s.reason).toBe(
      `${URL0}:4: initrd http://192.0.2.1/boot/conf.txt names a destination (/etc/conf.txt mode=600): iPXE's cpio wrapping is not supported`,
    );
  });
});

describe('arguments are expanded one by one and never split again (iPXE expand_tokens)', () => {
  it('an unset setting is an empty argument: iseq compares it, choose --default takes it as its value', async () => {
    const s =
      '#!ipxe\niseq ${cls} serial && set a yes || set a no\nmenu M\nitem x X\nchoose --default ${menu} --timeout ${t} menu || exit\nkernel k ${a} ${menu}\nboot';
    const r = await run(s, {}, ['x']);
    expect(r.outcome.kind === 'linux' && r.outcome.kernel.args).toBe('no x');
  });
  it('a value with blanks is one argument (item text keeps it; titles are trimmed)', async () => {
    const x = await exploreIpxe(
      URL0,
      enc(
        '#!ipxe\nset space:hex 20:20\nset space ${space:string}\nmenu M\nitem a ${space} Alpha one\nchoose m\nset p quiet splash\nkernel k ${p}\nboot',
      ),
      { builtins: { lease }, fetchFile: () => Promise.reject(new Error('no fetch')) },
    );
    expect(x.paths.map((p) => [p.texts, p.outcome.kind === 'linux' && p.outcome.kernel.args])).toEqual([
      [['Alpha one'], 'quiet splash'],
    ]);
  });
  it('set without a type: built-ins keep theirs, other settings become strings', async () => {
    expect(
      await bootArgs(
        '#!ipxe\nset ip 198.51.100.5\nset c:hex 1b:5b\nset c ${c:string}x\nkernel k ${ip:hexraw} ${c:hex}\nboot',
      ),
    ).toBe('c6336405 1b:5b:78');
  });
  it('prompt without --timeout is taken as a key press; with one, as a timeout', async () => {
    expect(
      await bootArgs(
        '#!ipxe\nprompt Press a key\nprompt --timeout 1 x && set b key || set b timeout\nkernel k ${b}\nboot',
      ),
    ).toBe('timeout');
  });
});

// The shape of netboot.xyz's main menu (written for this test): arch detection, a chained
// config, a cls sequence, items indented with a blank setting, `goto ${menu} ||` falling through
// to `chain ${menu}.ipxe`, submenus in other files, local/shell/change-arch items.
const XYZ_MAIN = `#!ipxe
:start
isset \${arch} && goto arch_known ||
cpuid --ext 29 && set arch x86_64 || set arch i386
:arch_known
chain --autofree site.cfg ||
iseq \${cls} serial && goto no_cls ||
set cls:hex 1b:5b:4a
set cls \${cls:string}
:no_cls
isset \${menu} && goto \${menu} ||
:main_menu
clear menu
set space:hex 20:20
set space \${space:string}
menu Test menu - next-server: \${next-server}
item --gap Default:
item local \${space} Boot from local disk
item --gap Distributions:
iseq \${menu_linux} 1 && item linux \${space} Linux installs ||
iseq \${menu_bsd} 1 && item bsd \${space} BSD installs ||
item change_arch \${space} Architecture: \${arch}
isset \${menu} && set timeout 0 || set timeout \${boot_timeout}
choose --timeout \${timeout} --default \${menu} menu || goto local
echo \${cls}
goto \${menu} ||
chain \${menu}.ipxe || goto error
goto main_menu
:error
echo failed
prompt
goto main_menu
:local
exit 0
:change_arch
iseq \${arch} x86_64 && set arch i386 && goto main_menu ||
set arch x86_64
goto main_menu
`;
const XYZ_LINUX = `#!ipxe
menu Linux installs for \${arch}
item debian Debian
item fedora Fedora
item back Back
choose --default debian os || goto back
goto \${os}
:debian
set mirror http://198.51.100.3/debian
kernel \${mirror}/dists/stable/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux initrd=initrd.gz
initrd --name initrd.gz \${mirror}/dists/stable/main/installer-amd64/current/images/netboot/debian-installer/amd64/initrd.gz
boot
:fedora
chain fedora/vmlinuz inst.stage2=http://198.51.100.3/fedora
:back
exit
`;

describe('a netboot.xyz-shaped menu', () => {
  it('lists the chained submenu items, keeps the others out, and boots what the real files say', async () => {
    const m = memFetch({
      [URL0]: XYZ_MAIN,
      'http://192.0.2.1/boot/site.cfg': '#!ipxe\nset menu_linux 1\nset menu_bsd 0\nset boot_timeout 300000\n',
      'http://192.0.2.1/boot/linux.ipxe': XYZ_LINUX,
      'http://192.0.2.1/boot/fedora/vmlinuz': tinyBzImage(),
    });
    const r = await netbootEntries(lease, m.fetch, { smbios });
    expect(r.entries.map((e) => [e.title, e.status.ok])).toEqual([
      ['iPXE: Linux installs > Debian (192.0.2.1)', true],
      ['iPXE: Linux installs > Fedora (192.0.2.1)', true],
    ]);
    const t = (i: number) => r.entries[i]!.status as { ok: true; target: LinuxTarget };
    expect(pathToUrl(t(0).target.kernel.path)).toBe(
      'http://198.51.100.3/debian/dists/stable/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux',
    );
    expect(t(0).target.cmdline).toBe('initrd=initrd.gz');
    expect(t(0).target.initrds.map((f) => pathToUrl(f.path))).toEqual([
      'http://198.51.100.3/debian/dists/stable/main/installer-amd64/current/images/netboot/debian-installer/amd64/initrd.gz',
    ]);
    expect(pathToUrl(t(1).target.kernel.path)).toBe('http://192.0.2.1/boot/fedora/vmlinuz');
    expect(t(1).target.cmdline).toBe('inst.stage2=http://198.51.100.3/fedora');
    // No menu default (${menu} was unset), the first menu's timeout is 300 s.
    expect(r.defaultId).toBeUndefined();
    expect(r.timeout).toEqual({ kind: 'seconds', seconds: 300 });
    const why = r.diagnostics.map((d) => d.message);
    expect(why).toContain('Boot from local disk: exit: back to the menu; no entry');
    expect(why).toContain('Architecture: x86_64: leads back to a menu already shown; no entry');
    expect(why).toContain('Linux installs > Back: leads back to a menu already shown; no entry');
  });
});

describe('which item is the default (what iPXE highlights and boots unattended)', () => {
  const defaults = async (choose: string, items = 'item a A\nitem b B') => {
    const x = await exploreIpxe(URL0, enc(`#!ipxe\nmenu M\n${items}\n${choose}\nkernel k \${t}\nboot`), {
      builtins: { lease },
      fetchFile: () => Promise.reject(new Error('no fetch')),
    });
    return x.paths.filter((p) => p.isDefault).map((p) => p.choices.join('>'));
  };
  it.each([
    ['choose --default b t', 'item a A\nitem b B', ['b']],
    ['choose --default nomatch t', 'item a A\nitem b B', ['a']],
    ['choose --timeout 5000 t', 'item --gap --\nitem a A\nitem b B', ['a']],
    ['choose t', 'item a A\nitem --default b B', ['b']],
    ['choose --default a t', 'item a A\nitem --default b B', ['a']],
    ['choose t', 'item a A\nitem b B', []],
  ])('%s with %j → %j', async (choose, items, want) => {
    expect(await defaults(choose, items)).toEqual(want);
  });
});
