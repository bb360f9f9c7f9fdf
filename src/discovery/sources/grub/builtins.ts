// Command table. Real grub commands win over user functions (grub looks commands up first);
// `soft` names are not grub commands but functions Ubuntu/Debian define (gfxmode,
// load_video, recordfail): a defined function runs, otherwise they are no-ops.

import type { Builtin, GrubHost } from './host';
import type { Exec } from './state';
import { evalTest } from './builtins-test';
import { BOOT_BUILTINS } from './builtins-boot';
import { SEARCH_BUILTINS } from './builtins-search';
import { ENV_BUILTINS } from './builtins-env';
import { REGEXP_BUILTINS } from './builtins-regexp';

const ok: Builtin = { run: () => 0 };
const fail: Builtin = { run: () => 1 };
const softOk: Builtin = { soft: true, run: () => 0 };

/** Commands with no effect on which entries exist or what they boot. */
const NO_OPS = [
  'echo',
  'insmod',
  'rmmod',
  'lsmod',
  'loadfont',
  'terminfo',
  'terminal_input',
  'terminal_output',
  'serial',
  'play',
  'background_image',
  'background_color',
  'font',
  'clear',
  'sleep',
  'videoinfo',
  'set_background_color',
  'gettext',
  'lsfonts',
  'nativedisk',
  'tr',
  'pager',
  'list_env',
  'lsefi',
  'lspci',
  'date',
  'help',
  'ls',
  'terminal',
  'vbeinfo',
  'read',
  'usb',
  'efi_gop',
  'efi_uga',
  'tpm_measure',
  'verify_detached',
  'trust',
  'distrust',
  'list_trusted',
  'hashsum',
  'md5sum',
  'sha1sum',
  'sha256sum',
  'sha512sum',
  'password',
  'password_pbkdf2',
  'cutmem',
  'badram',
  'fakebios',
  'outb',
  'outw',
  'outl',
  'write_byte',
  'write_word',
  'write_dword',
  'gptsync',
  'parttool',
  'drivemap',
  'hdparm',
  'backtrace',
  'debug',
  'rescue',
  'keymap',
  'setkey',
  'acpi',
  'lsacpi',
  'videotest',
  'lsdev',
  'tpm',
  'chosen_color',
];
const SOFT_NO_OPS = ['gfxmode', 'load_video', 'recordfail', 'savedefault'];

function intArg(s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

const CORE: Record<string, Builtin> = {
  true: ok,
  false: fail,
  keystatus: fail,
  smbios: fail,
  cryptomount: fail,
  hwmatch: fail,
  'btrfs-mount-subvol': ok,
  set: {
    run(it, x, argv, line) {
      if (argv.length < 2) return 0;
      const a = argv[1]!;
      const eq = a.indexOf('=');
      if (eq <= 0) {
        it.report(x, 'warning', `set: '${a.slice(0, 60)}' is not an assignment`, line);
        return 1;
      }
      return it.setVar(x, a.slice(0, eq), a.slice(eq + 1), line) ? 0 : 1;
    },
  },
  unset: {
    run(_it, x, argv) {
      for (const n of argv.slice(1)) x.env.unset(n);
      return 0;
    },
  },
  export: {
    run(_it, x, argv) {
      for (const n of argv.slice(1)) x.env.exported.add(n);
      return 0;
    },
  },
  '[': {
    async run(it, x, argv, line) {
      if (argv[argv.length - 1] !== ']') {
        it.report(x, 'warning', "[: missing ']'", line);
        return 1;
      }
      return (await evalTest(it, x, argv.slice(1, -1))) ? 0 : 1;
    },
  },
  test: {
    async run(it, x, argv) {
      return (await evalTest(it, x, argv.slice(1))) ? 0 : 1;
    },
  },
  return: {
    run(_it, x, argv) {
      const n = intArg(argv[1], x.status);
      x.sig = { kind: 'return' };
      return n;
    },
  },
  break: {
    run(_it, x, argv) {
      x.sig = { kind: 'break', n: Math.max(1, intArg(argv[1], 1)) };
      return 0;
    },
  },
  continue: {
    run(_it, x, argv) {
      x.sig = { kind: 'continue', n: Math.max(1, intArg(argv[1], 1)) };
      return 0;
    },
  },
  shift: {
    run(_it, x, argv) {
      const n = intArg(argv[1], 1);
      if (n > x.params.length) return 1;
      x.params = x.params.slice(n);
      return 0;
    },
  },
  setparams: {
    run(_it, x, argv) {
      x.params = argv.slice(1);
      return 0;
    },
  },
  cpuid: {
    run(it) {
      // `cpuid -l`: long mode. True on the 64-bit x86 tendril runs on.
      return it.ctx.arch === 'x64' ? 0 : 1;
    },
  },
  exit: {
    run(_it, x) {
      x.sig = { kind: 'exit' };
      return 0;
    },
  },
  normal: {
    run(_it, x) {
      x.sig = { kind: 'exit' };
      return 0;
    },
  },
  boot: {
    run(_it, x) {
      x.sig = { kind: 'exit' };
      return 0;
    },
  },
  // Fedora's 08_fallback_counting: `increment VAR` / `decrement VAR` on a numeric variable.
  increment: { run: (it, x, argv, line) => addTo(it, x, argv[1], 1, line) },
  decrement: { run: (it, x, argv, line) => addTo(it, x, argv[1], -1, line) },
  // `eval STRING…`: the words joined with spaces, parsed and run in the current context.
  eval: {
    async run(it, x, argv, line) {
      return it.evalString(x, argv.slice(1).join(' '), line);
    },
  },
};

function addTo(it: GrubHost, x: Exec, name: string | undefined, delta: number, line: number): number {
  if (name === undefined) return 1;
  const v = Number.parseInt(x.env.get(name) ?? '', 10);
  if (!Number.isFinite(v)) return 1;
  return it.setVar(x, name, String(v + delta), line) ? 0 : 1;
}

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  ...NO_OPS.map((n) => [n, ok] as const),
  ...SOFT_NO_OPS.map((n) => [n, softOk] as const),
  ...Object.entries(CORE),
  ...Object.entries(ENV_BUILTINS),
  ...Object.entries(SEARCH_BUILTINS),
  ...Object.entries(BOOT_BUILTINS),
  ...Object.entries(REGEXP_BUILTINS),
]);
