// Turns parsed Type #1 fields into a SourceEntry: resolves and checks every file (docs/bls.md §4,
// docs/bls.md §5), expands Fedora grub variables (§7.3), applies platform rules (uki-url origin,
// devicetree on x86) and derives id and boot counter from the file name (docs/bls.md §8.2, §9.1).
//
// sd-boot silently drops an entry whose linux/efi/uki file cannot be opened, and never
// checks initrds. We keep such entries, broken (status.ok false) with an error that names the
// snippet, the key's line and the missing path, and the target the snippet declared: a
// visible broken entry beats one that vanishes or fails only when booted.

import { diag, type Diagnostic } from '../diagnostics';
import { originOf, statusOf, type BootTarget, type FileRef, type SourceEntry } from '../model';
import type { EfiArch, MountedFs } from '../sources/context';
import { joinOptions, type BlsFields, type Located } from '../config/blsfile';
import {
  expandGrubVars,
  hasGrubVars,
  substitutionDiagnostics,
  type ExpansionBudget,
  type VarLookup,
} from '../config/kernelopts';
import { MAX_EXPANSION_BYTES, MAX_EXPANSION_BYTES_PER_DISK, MAX_FILES_PER_ENTRY } from '../limits';
import { at, type Where } from '../config/lines';
import { parseEntryName } from './bootcount';
import { inspectEfiProgram } from '../pe/efiapp';
import { resolveBlsPath, type Resolved } from './paths';
import type { FsErrorCode } from '../fs/types';

const SRC = 'bls';

export interface BuildContext {
  readonly mount: MountedFs;
  /** Directory holding the snippet ('/loader/entries'). */
  readonly dir: string;
  readonly fileName: string;
  readonly arch: EfiArch;
  readonly originUrl?: string;
  /** Grub variables for $kernelopts and friends, loaded on first use. */
  readonly vars: () => Promise<{ lookup: VarLookup; diagnostics: Diagnostic[] }>;
  /** What every snippet of this disk may still expand to (MAX_EXPANSION_BYTES_PER_DISK). */
  readonly expansion?: ExpansionBudget;
}

export type BuildResult = { readonly entry: SourceEntry } | { readonly hidden: Diagnostic[] };

/** `:name` in uki-url: replace the last path component of the URL we were booted from. */
export function replaceLastComponent(origin: string, name: string): string {
  const cut = origin.search(/[?#]/);
  const base = cut >= 0 ? origin.slice(0, cut) : origin;
  return base.slice(0, base.lastIndexOf('/') + 1) + name;
}

/**
 * A `uki-url` value as the URL to fetch: absolute http(s)/tftp as given, or `:name` against the
 * origin (replaceLastComponent). Anything else, or `:name` without an origin, says why not.
 */
export function ukiUrlOf(
  value: string,
  origin: string | undefined,
): { readonly ok: true; readonly url: string } | { readonly ok: false; readonly reason: string } {
  const fetchable = (u: string): boolean => /^(https?|tftp):\/\/[^/?#\s]+([/?#]\S*)?$/i.test(u);
  if (value.startsWith(':')) {
    const name = value.slice(1);
    if (name === '' || /[\s]/.test(name)) return { ok: false, reason: 'not a file name after the ":"' };
    if (origin === undefined)
      return {
        ok: false,
        reason:
          'relative to the URL tendril was booted from, and this boot has none (set net.origin or tendril.origin=URL)',
      };
    const url = replaceLastComponent(origin, name);
    return fetchable(url)
      ? { ok: true, url }
      : { ok: false, reason: `the origin ${origin} is not an http(s) or tftp URL` };
  }
  return fetchable(value) ? { ok: true, url: value } : { ok: false, reason: 'not an http(s) or tftp URL' };
}

const X86: readonly EfiArch[] = ['x64', 'ia32'];

export async function buildBlsEntry(
  fields: BlsFields,
  parseDiagnostics: readonly Diagnostic[],
  c: BuildContext,
): Promise<BuildResult> {
  const rep = c.mount.report;
  const file = `${c.dir}/${c.fileName}`;
  const where: Where = { file, fsId: rep.fsId, device: rep.device };
  const diagnostics: Diagnostic[] = [...parseDiagnostics];
  /** The first reason the entry cannot boot, and the lookup error behind it. */
  let reason: string | undefined;
  let errno: FsErrorCode | undefined;
  /** Every file the snippet names has a place on the filesystem (found or not). */
  let located = true;

  const ref = (path: string): FileRef => ({ fsId: rep.fsId, path });
  /**
   * Record a resolution. A missing file makes the entry unbootable, with the reason; its
   * path is still returned (the snippet declared it) unless the value names no place at all.
   */
  const record = (key: string, value: string, line: number, r: Resolved): FileRef | undefined => {
    if (r.ok) {
      if (r.note) diagnostics.push(diag('info', SRC, `${key}: ${r.note}`, at(where, line)));
      return ref(r.path);
    }
    const shown = value.length > 200 ? `${value.slice(0, 200)}… (${value.length} characters)` : value;
    const because = r.reason.length > 400 ? `${r.reason.slice(0, 400)}…` : r.reason;
    // An error that already starts with the path (`/x: ELOOP (...)`) is not prefixed twice.
    const why = r.reason.startsWith(`${value}: `)
      ? `${key} ${because} on ${rep.fsId}`
      : `${key} ${shown}: ${because} on ${rep.fsId}`;
    if (reason === undefined) {
      reason = why;
      errno = r.errno;
    }
    diagnostics.push(diag('error', SRC, `${why}; entry cannot boot`, at(where, line)));
    if (r.path === undefined) {
      located = false;
      return undefined;
    }
    return ref(r.path);
  };
  const resolve = async (key: string, value: string, line: number): Promise<FileRef | undefined> =>
    record(key, value, line, await resolveBlsPath(c.mount.fs, value, c.dir));

  const l = fields.loader;
  let url: string | undefined;
  if (l.kind === 'uki-url') {
    // The spec hides what cannot be fetched; tendril shows it disabled, saying why (docs/net-bootfiles.md §8).
    const u = ukiUrlOf(l.value, c.originUrl);
    if (u.ok) url = u.url;
    else {
      reason = `uki-url ${l.value.length > 200 ? `${l.value.slice(0, 200)}…` : l.value}: ${u.reason}`;
      located = false;
      diagnostics.push(diag('error', SRC, `${reason}; entry cannot boot`, at(where, l.line)));
    }
  }
  const image = l.kind === 'uki-url' ? undefined : await resolve(l.kind, l.value, l.line);
  if (l.kind === 'efi' && image && reason === undefined) {
    // sd-boot would hand any file to LoadImage; a file the firmware refuses is broken here, with why.
    const app = await inspectEfiProgram(c.mount.fs, image.path, c.arch);
    if (!app.ok) {
      reason = `efi ${app.reason} on ${rep.fsId}`;
      if (app.errno) errno = app.errno;
      diagnostics.push(diag('error', SRC, `${reason}; entry cannot boot`, at(where, l.line)));
    }
  }

  // Grub variables in options/initrd (Fedora 30-32, RHEL 8), bounded per snippet and per disk:
  // past either budget the entry cannot boot (its command line would be cut).
  let lookup: VarLookup | undefined;
  const snippet: ExpansionBudget = { left: MAX_EXPANSION_BYTES };
  const budgets = c.expansion ? [snippet, c.expansion] : [snippet];
  let overflowed = false;
  const expand = async (key: string, v: Located<string>): Promise<string | undefined> => {
    if (!hasGrubVars(v.value)) return undefined;
    if (overflowed) return '';
    if (!lookup) {
      const loaded = await c.vars();
      lookup = loaded.lookup;
      diagnostics.push(...loaded.diagnostics);
    }
    const e = expandGrubVars(v.value, lookup, ...budgets);
    diagnostics.push(...substitutionDiagnostics(e.substitutions, where, v.line));
    if (e.overflow) {
      overflowed = true;
      located = false;
      const why =
        snippet.left > 0
          ? `${key}: the grub variables of this disk's snippets expand to more than ${MAX_EXPANSION_BYTES_PER_DISK} characters together (limit per disk)`
          : `${key}: grub variables expand to more than ${MAX_EXPANSION_BYTES} characters in this snippet (limit per snippet; a command line is at most 64 KiB)`;
      reason ??= why;
      diagnostics.push(diag('error', SRC, `${why}; entry cannot boot`, at(where, v.line)));
    }
    return e.text;
  };

  const optionParts: Located<string>[] = [];
  for (const o of fields.options) {
    const x = await expand('options', o);
    // grub re-splits expanded words; an undefined variable leaves nothing behind.
    if (x === undefined) optionParts.push(o);
    else if (x.trim() !== '') optionParts.push({ value: x.trim().split(/\s+/).join(' '), line: o.line });
  }
  const cmdline = joinOptions(optionParts);

  const initrds: FileRef[] = [];
  if (l.kind !== 'linux' && (fields.initrds.length || fields.devicetree)) {
    const line = (fields.initrds[0] ?? fields.devicetree)!.line;
    diagnostics.push(
      diag(
        'info',
        SRC,
        `initrd/devicetree keys are only used with linux entries; ignored for ${l.kind}`,
        at(where, line),
      ),
    );
  }
  // Each file named costs a lookup: a snippet of 64 KiB could name 30,000.
  let files = 0;
  const tooMany = (key: string, line: number): boolean => {
    if (++files <= MAX_FILES_PER_ENTRY) return false;
    if (files === MAX_FILES_PER_ENTRY + 1) {
      const why = `${key}: more than ${MAX_FILES_PER_ENTRY} initrd and devicetree files (limit per entry)`;
      reason ??= why;
      located = false;
      diagnostics.push(diag('error', SRC, `${why}; the rest are not looked up; entry cannot boot`, at(where, line)));
    }
    return true;
  };
  initrdLines: for (const i of l.kind === 'linux' ? fields.initrds : []) {
    const x = await expand('initrd', i);
    if (x !== undefined) {
      // grub passes the expanded value to its initrd command as several words.
      for (const word of overflowed ? [] : x.split(/\s+/).filter(Boolean)) {
        if (tooMany('initrd', i.line)) break initrdLines;
        const f = await resolve('initrd', word, i.line);
        if (f) initrds.push(f);
      }
      continue;
    }
    if (tooMany('initrd', i.line)) break;
    const whole = await resolveBlsPath(c.mount.fs, i.value, c.dir);
    const words = i.value.split(/[ \t]+/).filter(Boolean);
    if (!whole.ok && words.length > 1) {
      // grub's blscfg would load each word; sd-boot would look for one file with spaces.
      diagnostics.push(
        diag(
          'info',
          SRC,
          `initrd ${i.value}: no such file; trying each word as its own initrd (as grub's blscfg does)`,
          at(where, i.line),
        ),
      );
      for (const [k, w] of words.entries()) {
        if (k > 0 && tooMany('initrd', i.line)) break initrdLines;
        const f = await resolve('initrd', w, i.line);
        if (f) initrds.push(f);
      }
      continue;
    }
    const f = record('initrd', i.value, i.line, whole);
    if (f) initrds.push(f);
  }

  let devicetree: FileRef | undefined;
  const overlays: FileRef[] = [];
  if (l.kind !== 'linux') {
    // reported above
  } else if (fields.devicetree && X86.includes(c.arch)) {
    diagnostics.push(diag('info', SRC, 'devicetree is ignored on x86', at(where, fields.devicetree.line)));
  } else if (fields.devicetree) {
    devicetree = await resolve('devicetree', fields.devicetree.value, fields.devicetree.line);
    for (const o of fields.devicetreeOverlays) {
      if (tooMany('devicetree-overlay', o.line)) break;
      const f = await resolve('devicetree-overlay', o.value, o.line);
      if (f) overlays.push(f);
    }
  } else if (fields.devicetreeOverlays.length > 0 && !X86.includes(c.arch)) {
    diagnostics.push(
      diag(
        'warning',
        SRC,
        'devicetree-overlay without devicetree; ignored',
        at(where, fields.devicetreeOverlays[0]!.line),
      ),
    );
  }
  if (fields.extra.length > 0) {
    diagnostics.push(
      diag(
        'info',
        SRC,
        `extra resources (${fields.extra.map((e) => e.value).join(', ')}) are not passed yet; ignored`,
        at(where, fields.extra[0]!.line),
      ),
    );
  }

  let target: BootTarget | undefined;
  if (l.kind === 'uki-url') {
    if (url !== undefined)
      target = {
        kind: 'uki-url',
        url,
        ...(fields.profile ? { profile: fields.profile } : {}),
        ...(optionParts.length ? { cmdlineOverride: cmdline } : {}),
      };
  } else if (!image) {
    // The loader path names no place on the filesystem: nothing to declare.
  } else if (l.kind === 'efi') {
    target = { kind: 'efi', image, ...(cmdline ? { options: cmdline } : {}) };
  } else if (l.kind === 'uki') {
    target = {
      kind: 'uki',
      image,
      profile: fields.profile,
      addons: [],
      ...(optionParts.length ? { cmdlineOverride: cmdline } : {}),
    };
  } else {
    target = {
      kind: 'linux',
      kernel: image,
      initrds,
      cmdline,
      ...(devicetree ? { devicetree } : {}),
      ...(overlays.length ? { devicetreeOverlays: overlays } : {}),
    };
  }
  const status = statusOf(located ? target : undefined, reason, errno);

  const { id, counter } = parseEntryName(c.fileName);
  const title = fields.title ? fields.title : id;
  return {
    entry: {
      sourceId: id,
      // Type #1 ids have no '@profile'.
      idWithoutProfile: id,
      title,
      ...(fields.version !== undefined ? { version: fields.version } : {}),
      ...(fields.sortKey !== undefined ? { sortKey: fields.sortKey } : {}),
      ...(fields.machineId !== undefined ? { machineId: fields.machineId } : {}),
      ...(fields.architecture !== undefined ? { architecture: fields.architecture } : {}),
      origin: originOf('bls', rep, file),
      status,
      ...(counter ? { bootCounter: counter } : {}),
      diagnostics,
    },
  };
}
