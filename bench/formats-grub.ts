// grub.cfg parse + evaluate for a generated ~5,000-line config shaped like update-grub output:
// the 00_header logic (grubenv, functions, ifs), 300 menuentries of ~15 lines each, half in
// submenus, each running load_video/gfxmode functions, search --fs-uuid and if-branches.
// Baseline in the same run: reading the file and splitting it into lines.
//   node scripts/run-ts.mjs bench/formats-grub.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostDirFileSystem } from '../src/discovery/fs/hostdir';
import type { MountedFs, SourceContext } from '../src/discovery/sources/context';
import { scanGrub } from '../src/discovery/sources/grub';
import { parse } from '../src/discovery/sources/grub/parser';

const UUID = '6b1d7f0e-2c4a-4e8b-9d1f-3a5c7e9b0d2f';
const VERSIONS = Array.from({ length: 10 }, (_, i) => `6.1.0-${i + 10}-amd64`);

function header(): string {
  return `if [ -s $prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="\${saved_entry}"
fi
if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
function savedefault {
  if [ -z "\${boot_once}" ]; then
    saved_entry="\${chosen}"
    save_env saved_entry
  fi
}
function recordfail {
  set recordfail=1
  if [ -n "\${have_grubenv}" ]; then if [ -z "\${boot_once}" ]; then save_env recordfail; fi; fi
}
function load_video {
  if [ x$feature_all_video_module = xy ]; then
    insmod all_video
  else
    insmod efi_gop
  fi
}
function gfxmode {
	set gfxpayload="\${1}"
	if [ "\${1}" = "keep" ]; then
		set vt_handoff=vt.handoff=7
	else
		set vt_handoff=
	fi
}
if [ "\${recordfail}" = 1 ] ; then
  set timeout=30
else
  if [ x$feature_timeout_style = xy ] ; then
    set timeout_style=menu
    set timeout=5
  else
    set timeout=5
  fi
fi
set linux_gfx_mode=keep
export linux_gfx_mode
`;
}

function entry(i: number, indent: string): string {
  const v = VERSIONS[i % VERSIONS.length]!;
  const lines = [
    `menuentry 'Distro, with Linux ${v} (#${i})' --class distro --class gnu-linux --class os $menuentry_id_option 'gnulinux-${v}-${i}-${UUID}' {`,
    `	recordfail`,
    `	load_video`,
    `	gfxmode $linux_gfx_mode`,
    `	insmod gzio`,
    `	if [ x$grub_platform = xxen ]; then insmod xzio; insmod lzopio; fi`,
    `	insmod part_gpt`,
    `	insmod ext2`,
    `	set root='hd0,gpt2'`,
    `	if [ x$feature_platform_search_hint = xy ]; then`,
    `	  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 --hint-efi=hd0,gpt2 ${UUID}`,
    `	else`,
    `	  search --no-floppy --fs-uuid --set=root ${UUID}`,
    `	fi`,
    `	echo	'Loading Linux ${v} ...'`,
    `	linux	/boot/vmlinuz-${v} root=UUID=${UUID} ro quiet splash $vt_handoff`,
    `	initrd	/boot/initrd.img-${v}`,
    `}`,
  ];
  return lines.map((l) => indent + l).join('\n') + '\n';
}

function config(): string {
  let s = header();
  let n = 0;
  for (let g = 0; g < 15; g++) {
    for (let k = 0; k < 10; k++) s += entry(n++, '');
    s += `submenu 'Advanced options ${g}' $menuentry_id_option 'gnulinux-advanced-${g}-${UUID}' {\n`;
    for (let k = 0; k < 10; k++) s += entry(n++, '\t');
    s += '}\n';
  }
  return s;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-grub-'));
  const text = config();
  fs.mkdirSync(path.join(root, 'boot/grub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'boot/grub/grub.cfg'), text);
  for (const v of VERSIONS) {
    fs.writeFileSync(path.join(root, `boot/vmlinuz-${v}`), 'k');
    fs.writeFileSync(path.join(root, `boot/initrd.img-${v}`), 'i');
  }
  const m: MountedFs = {
    report: {
      fsId: 'vda:2',
      device: '/dev/vda',
      partition: 2,
      offset: 0,
      size: 0,
      probe: { type: 'ext4', uuid: UUID, readable: true },
    },
    fs: new HostDirFileSystem(root),
  };
  const ctx: SourceContext = { filesystems: [m], get: (id) => (id === 'vda:2' ? m : undefined), arch: 'x64' };
  const lines = text.split('\n').length;

  const time = async (label: string, iters: number, fn: () => unknown): Promise<number> => {
    for (let i = 0; i < Math.min(3, iters); i++) await fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / iters;
    console.log(`${label.padEnd(44)} ${ms.toFixed(3).padStart(9)} ms/op  ${(1000 / ms).toFixed(1).padStart(9)} ops/s`);
    return ms;
  };

  console.log(`grub.cfg: ${lines} lines, ${text.length} bytes, 300 menuentries (150 in 15 submenus)`);
  const base = await time('baseline: read file + split lines', 200, () =>
    fs.readFileSync(path.join(root, 'boot/grub/grub.cfg'), 'utf8').split('\n'),
  );
  const parseMs = await time('lex + parse', 50, () => parse(text));
  let entries = 0;
  const full = await time('scanGrub: probe + parse + evaluate + stat files', 20, async () => {
    const s = await scanGrub(ctx);
    entries = s.entries.length;
  });
  console.log(`entries produced: ${entries}`);
  console.log(`ratio parse/baseline: ${(parseMs / base).toFixed(1)}x; full/baseline: ${(full / base).toFixed(1)}x`);
  fs.rmSync(root, { recursive: true, force: true });
}

void main();
