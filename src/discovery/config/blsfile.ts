// Type #1 snippet keys (docs/bls.md §3) on top of sd-boot's line syntax (lines.ts). Pure: bytes
// in, fields and diagnostics out. File checks, paths and $kernelopts live in sources/bls.ts.

import { diag, type Diagnostic } from '../diagnostics';
import type { EfiArch } from '../sources/context';
import {
  at,
  decodeConfig,
  DEFAULT_LINE_LIMITS,
  parseUnsigned,
  splitKeyValueLines,
  type LineLimits,
  type Where,
} from './lines';

export { splitKeyValueLines, type KeyValueLine, type Where } from './lines';

export type LoaderKind = 'linux' | 'efi' | 'uki' | 'uki-url';

export interface Located<T> {
  readonly value: T;
  readonly line: number;
}

export interface BlsFields {
  readonly title?: string;
  readonly version?: string;
  readonly machineId?: string;
  readonly sortKey?: string;
  /** The one loader key (last occurrence wins). */
  readonly loader: { readonly kind: LoaderKind; readonly value: string; readonly line: number };
  /** Every `initrd` line, in order. */
  readonly initrds: Located<string>[];
  /** Every `options` line, in order (joined with one space by joinOptions). */
  readonly options: Located<string>[];
  readonly devicetree?: Located<string>;
  readonly devicetreeOverlays: Located<string>[];
  readonly architecture?: string;
  /** `profile` for uki/uki-url entries (0 when absent). */
  readonly profile: number;
  readonly extra: Located<string>[];
}

/**
 * ok: an entry; bad: malformed (conflicting or missing loader keys), dropped with an error;
 * ignored: not for this machine (architecture), dropped quietly (info); invalid: the file
 * itself could not be read as text (UTF-8, size, line count).
 */
export type BlsStatus = 'ok' | 'bad' | 'ignored' | 'invalid';

export type BlsParseResult =
  | { readonly status: 'ok'; readonly fields: BlsFields; readonly diagnostics: Diagnostic[] }
  | { readonly status: Exclude<BlsStatus, 'ok'>; readonly diagnostics: Diagnostic[] };

export interface BlsLimits extends LineLimits {
  readonly maxBytes: number;
}

export const BLS_LIMITS: BlsLimits = { ...DEFAULT_LINE_LIMITS, maxBytes: 64 * 1024 };

const LOADER_KEYS: readonly string[] = ['linux', 'efi', 'uki', 'uki-url'];
const KNOWN_KEYS = new Set([
  'title',
  'version',
  'machine-id',
  'sort-key',
  'linux',
  'efi',
  'uki',
  'uki-url',
  'initrd',
  'options',
  'devicetree',
  'devicetree-overlay',
  'architecture',
  'profile',
  'extra',
]);
/** Fedora/RHEL additions grub's blscfg reads; tolerated without a word. */
const FEDORA_KEYS = new Set(['id', 'grub_users', 'grub_arg', 'grub_class']);

const SRC = 'bls';

export function joinOptions(options: readonly Located<string>[]): string {
  return options.map((o) => o.value).join(' ');
}

/** Parse one `/loader/entries/*.conf` file. `arch` is the running EFI architecture name. */
export function parseBlsEntry(
  bytes: Uint8Array,
  where: Where,
  arch: EfiArch,
  limits: BlsLimits = BLS_LIMITS,
): BlsParseResult {
  if (bytes.length > limits.maxBytes) {
    return {
      status: 'invalid',
      diagnostics: [
        diag(
          'error',
          SRC,
          `entry file is ${bytes.length} bytes, over the ${limits.maxBytes}-byte limit; skipped`,
          at(where, 1),
        ),
      ],
    };
  }
  const dec = decodeConfig(bytes, where, SRC);
  if (!dec.ok) {
    return {
      status: 'invalid',
      diagnostics: dec.diagnostics.map((d) => ({ ...d, message: `${d.message}; entry skipped` })),
    };
  }
  const diagnostics = dec.diagnostics;
  const split = splitKeyValueLines(dec.text, limits);
  if (split.tooManyLines !== undefined) {
    diagnostics.push(
      diag('error', SRC, `more than ${limits.maxLines} lines; entry skipped`, at(where, split.tooManyLines)),
    );
    return { status: 'invalid', diagnostics };
  }

  let title: string | undefined;
  let version: string | undefined;
  let machineId: string | undefined;
  let sortKey: string | undefined;
  let loader: { kind: LoaderKind; value: string; line: number } | undefined;
  const initrds: Located<string>[] = [];
  const options: Located<string>[] = [];
  let devicetree: Located<string> | undefined;
  const devicetreeOverlays: Located<string>[] = [];
  let architecture: string | undefined;
  let profile = 0;
  const extra: Located<string>[] = [];

  for (const { key, value, line } of split.lines) {
    switch (key) {
      case 'title':
        title = value;
        break;
      case 'version':
        version = value;
        break;
      case 'machine-id':
        machineId = value;
        if (!/^[0-9a-f]{32}$/.test(value)) {
          diagnostics.push(
            diag('info', SRC, `machine-id ${JSON.stringify(value)} is not 32 lower-case hex digits`, at(where, line)),
          );
        }
        break;
      case 'sort-key':
        sortKey = value;
        break;
      case 'linux':
      case 'efi':
      case 'uki':
      case 'uki-url':
        if (loader && loader.kind !== key) {
          // sd-boot marks the entry LOADER_BAD and stops reading it.
          diagnostics.push(
            diag(
              'error',
              SRC,
              `'${key}' conflicts with '${loader.kind}' on line ${loader.line}: an entry has one loader kind; entry dropped`,
              at(where, line),
            ),
          );
          return { status: 'bad', diagnostics };
        }
        loader = { kind: key, value, line };
        break;
      case 'initrd':
        initrds.push({ value, line });
        break;
      case 'options':
        options.push({ value, line });
        break;
      case 'devicetree':
        devicetree = { value, line };
        break;
      case 'devicetree-overlay':
        for (const v of value.split(/[ \t]+/)) if (v) devicetreeOverlays.push({ value: v, line });
        break;
      case 'architecture':
        architecture = value;
        if (value.toLowerCase() !== arch) {
          diagnostics.push(
            diag(
              'info',
              SRC,
              `architecture ${value} does not match this machine (${arch}); entry hidden`,
              at(where, line),
            ),
          );
          return { status: 'ignored', diagnostics };
        }
        break;
      case 'profile': {
        const n = parseUnsigned(value, 0xffffffff);
        if (n === undefined)
          diagnostics.push(
            diag(
              'warning',
              SRC,
              `profile ${JSON.stringify(value)} is not an unsigned number; ignored`,
              at(where, line),
            ),
          );
        else profile = n;
        break;
      }
      case 'extra':
        extra.push({ value, line });
        break;
      default:
        if (!FEDORA_KEYS.has(key) && KNOWN_KEYS.has(key.toLowerCase())) {
          diagnostics.push(
            diag('info', SRC, `unknown key '${key}' ignored (keys are case-sensitive)`, at(where, line)),
          );
        }
    }
  }

  if (!loader) {
    const last = split.lines.length ? split.lines[split.lines.length - 1]!.line : 1;
    diagnostics.push(diag('error', SRC, `no ${LOADER_KEYS.join('/')} key in the file; entry dropped`, at(where, last)));
    return { status: 'bad', diagnostics };
  }
  if (loader.kind !== 'uki' && loader.kind !== 'uki-url' && profile !== 0) {
    diagnostics.push(diag('info', SRC, `profile only applies to uki/uki-url entries; ignored`, at(where, loader.line)));
  }
  return {
    status: 'ok',
    diagnostics,
    fields: {
      ...(title !== undefined ? { title } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(machineId !== undefined ? { machineId } : {}),
      ...(sortKey !== undefined ? { sortKey } : {}),
      loader,
      initrds,
      options,
      ...(devicetree ? { devicetree } : {}),
      devicetreeOverlays,
      ...(architecture !== undefined ? { architecture } : {}),
      profile,
      extra,
    },
  };
}
