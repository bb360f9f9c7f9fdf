// Loader commands: recorded into the running entry's Recorder, never performed
// (docs/grub-syslinux.md §A5, §A10). Order rules follow grub: a new kernel drops earlier
// initrds, initrd/module need a kernel loaded first.

import { FsError, statOrNull } from '../../fs/types';
import { blscfg } from './blscfg';
import type { Builtin, GrubHost } from './host';
import type { Exec, Loaded } from './state';

/** Loader commands outside a menuentry would boot at config time: we list, never boot. */
function needEntry(it: GrubHost, x: Exec, cmd: string, line: number): boolean {
  if (x.rec) return true;
  it.report(
    x,
    'info',
    `${cmd} outside a menuentry ignored (tendril lists entries; it does not boot from the config's top level)`,
    line,
  );
  return false;
}

/** Drop leading `--options` (grub loaders' flags such as --nounzip, --force, --quirk-*). */
function splitFlags(argv: readonly string[]): { flags: string[]; rest: string[] } {
  const flags: string[] = [];
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith('--')) flags.push(argv[i++]!);
  return { flags, rest: argv.slice(i) };
}

/** The non-flag arguments of a loader command, or undefined (reported) when it names no file. */
function fileArgs(it: GrubHost, x: Exec, argv: readonly string[], line: number): string[] | undefined {
  const { rest } = splitFlags(argv);
  if (rest.length > 0) return rest;
  it.report(x, 'error', `${argv[0]}: filename expected`, line);
  return undefined;
}

function load(it: GrubHost, x: Exec, spec: string, line: number): Loaded {
  return { spec, res: it.resolve(x, spec), line, file: x.file };
}

const linux: Builtin = {
  run(it, x, argv, line) {
    if (!needEntry(it, x, argv[0]!, line)) return 0;
    const rest = fileArgs(it, x, argv, line);
    if (!rest) return 1;
    const rec = x.rec!;
    rec.kernel = { ...load(it, x, rest[0]!, line), args: rest.slice(1), command: argv[0]! };
    rec.initrds = [];
    rec.multiboot = undefined;
    rec.modules = [];
    rec.chain = undefined;
    return 0;
  },
};

const initrd: Builtin = {
  run(it, x, argv, line) {
    if (!needEntry(it, x, argv[0]!, line)) return 0;
    const rec = x.rec!;
    if (!rec.kernel) {
      it.report(x, 'error', `${argv[0]}: you need to load the kernel first`, line);
      return 1;
    }
    const rest = fileArgs(it, x, argv, line);
    if (!rest) return 1;
    rec.initrds = rest.map((a) => {
      // grub ≥ 2.02 `newc:NAME:FILE` wraps FILE in a cpio entry named NAME on the fly.
      const m = /^newc:[^:]*:(.*)$/s.exec(a);
      if (m)
        it.report(
          x,
          'warning',
          `initrd ${a.slice(0, 80)}: newc: naming is not reproduced; the file is passed as is`,
          line,
        );
      return load(it, x, m ? m[1]! : a, line);
    });
    return 0;
  },
};

const devicetree: Builtin = {
  run(it, x, argv, line) {
    if (!needEntry(it, x, 'devicetree', line)) return 0;
    if (argv[1] === undefined) return 1;
    x.rec!.devicetree = load(it, x, argv[1], line);
    return 0;
  },
};

const chainloader: Builtin = {
  run(it, x, argv, line) {
    if (!needEntry(it, x, 'chainloader', line)) return 0;
    const rest = fileArgs(it, x, argv, line);
    if (!rest) return 1;
    const spec = rest[0]!;
    const rec = x.rec!;
    rec.kernel = undefined;
    rec.initrds = [];
    rec.multiboot = undefined;
    rec.modules = [];
    rec.chain = /^(\([^)]*\))?\+\d+$/.test(spec)
      ? { plusOne: true, line }
      : { ...load(it, x, spec, line), args: rest.slice(1) };
    return 0;
  },
};

const multiboot: Builtin = {
  run(it, x, argv, line) {
    if (!needEntry(it, x, argv[0]!, line)) return 0;
    const rest = fileArgs(it, x, argv, line);
    if (!rest) return 1;
    const rec = x.rec!;
    rec.kernel = undefined;
    rec.initrds = [];
    rec.chain = undefined;
    rec.modules = [];
    rec.multiboot = { ...load(it, x, rest[0]!, line), args: rest.slice(1), command: argv[0]! };
    return 0;
  },
};

const module_: Builtin = {
  run(it, x, argv, line) {
    if (!needEntry(it, x, argv[0]!, line)) return 0;
    const rec = x.rec!;
    if (!rec.multiboot) {
      it.report(x, 'error', `${argv[0]}: you need to load the multiboot kernel first`, line);
      return 1;
    }
    const { rest } = splitFlags(argv);
    if (rest.length === 0) return 1;
    rec.modules.push({ ...load(it, x, rest[0]!, line), args: rest.slice(1) });
    return 0;
  },
};

const loopback: Builtin = {
  async run(it, x, argv, line) {
    const args = argv.slice(1).filter((a) => a !== '-d' && a !== '--delete');
    const del = argv.includes('-d') || argv.includes('--delete');
    const name = args[0];
    if (name === undefined) return 1;
    if (del) {
      x.env.loops.delete(name);
      return 0;
    }
    const spec = args[1];
    if (spec === undefined) return 1;
    const r = it.resolve(x, spec);
    if (!r.ok) {
      x.env.loops.set(name, { ok: false, reason: `loopback ${spec.slice(0, 120)}: ${r.reason}` });
      return 1;
    }
    const st = await statOrNull(r.loc.fs, r.path);
    if (!st || st.kind !== 'file') {
      x.env.loops.set(name, { ok: false, reason: `loopback image ${r.path} not found on ${r.loc.refId}` });
      it.report(x, 'warning', `loopback: ${r.path} not found on ${r.loc.refId}`, line);
      return 1;
    }
    const open = it.openImage;
    if (!open) {
      x.env.loops.set(name, {
        ok: false,
        reason: `loopback ${r.path}: no ISO 9660 reader available to open the image`,
      });
      return 0;
    }
    try {
      const fs = await open(r.loc.fs, r.path);
      x.env.loops.set(name, {
        ok: true,
        loc: { fs, report: r.loc.report, loopImage: r.path, refId: `${r.loc.refId}!${r.path}` },
      });
      return 0;
    } catch (e) {
      const why = e instanceof FsError ? e.message : e instanceof Error ? e.message : String(e);
      x.env.loops.set(name, { ok: false, reason: `loopback ${r.path}: cannot open image: ${why}` });
      it.report(x, 'warning', `loopback ${r.path}: cannot open image: ${why}`, line);
      return 1;
    }
  },
};

function unsupported(what: string): Builtin {
  return {
    run(_it, x, argv) {
      // `fwsetup --is-supported`: no firmware setup to reboot into under coreboot.
      if (argv.includes('--is-supported')) return 1;
      if (!x.rec) return 0;
      if (!x.rec.unsupported) x.rec.unsupported = what;
      x.sig = { kind: 'exit' };
      return 0;
    },
  };
}

export const BOOT_BUILTINS: Record<string, Builtin> = {
  linux,
  linuxefi: linux,
  linux16: linux,
  initrd,
  initrdefi: initrd,
  initrd16: initrd,
  devicetree,
  chainloader,
  multiboot,
  multiboot2: multiboot,
  module: module_,
  module2: module_,
  loopback,
  fwsetup: unsupported('fwsetup: firmware setup does not exist under tendril (coreboot)'),
  reboot: unsupported('reboot: a reboot entry, not an operating system'),
  halt: unsupported('halt: a power-off entry, not an operating system'),
  blscfg: {
    async run(it, x, argv, line) {
      return blscfg(it, x, argv, line);
    },
  },
};
