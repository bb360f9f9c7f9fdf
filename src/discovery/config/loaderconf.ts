// loader.conf (docs/bls.md §11): same line syntax as BLS snippets. We honour default, timeout,
// editor and auto-entries; the rest is parsed so typos get a warning, then ignored.
// Timeout keywords keep their documented meanings (loader.conf(5)); a recent sd-boot maps
// all three to menu-disabled when read from loader.conf, which we deliberately do not copy.

import { diag, type Diagnostic } from '../diagnostics';
import type { TimeoutSetting } from '../model';
import {
  at,
  decodeConfig,
  DEFAULT_LINE_LIMITS,
  parseBool,
  parseUnsigned,
  splitKeyValueLines,
  type Where,
} from './lines';

export interface LoaderConf {
  /** Lower-cased glob, or '@saved'. */
  readonly default?: string;
  readonly defaultLine?: number;
  readonly timeout?: TimeoutSetting;
  readonly editor?: boolean;
  readonly autoEntries?: boolean;
  readonly autoFirmware?: boolean;
  readonly autoPoweroff?: boolean;
  readonly autoReboot?: boolean;
  readonly beep?: boolean;
}

export const LOADERCONF_MAX_BYTES = 64 * 1024;
/** sd-boot's TIMEOUT_TYPE_MAX (UINT32_MAX). */
const TIMEOUT_MAX = 0xffffffff;
const SRC = 'loader.conf';

export function parseTimeout(value: string): TimeoutSetting | undefined {
  switch (value) {
    case 'menu-force':
      return { kind: 'menu-force' };
    case 'menu-hidden':
      return { kind: 'menu-hidden' };
    case 'menu-disabled':
      return { kind: 'menu-disabled' };
  }
  const n = parseUnsigned(value, TIMEOUT_MAX);
  return n === undefined ? undefined : { kind: 'seconds', seconds: n };
}

const BOOL_KEYS = {
  editor: 'editor',
  'auto-entries': 'autoEntries',
  'auto-firmware': 'autoFirmware',
  'auto-poweroff': 'autoPoweroff',
  'auto-reboot': 'autoReboot',
  beep: 'beep',
  'reboot-for-bitlocker': undefined,
} as const;

/** Keys sd-boot knows that do not apply to a kexec boot manager: accepted silently. */
const IGNORED_KEYS = new Set([
  'console-mode',
  'secure-boot-enroll',
  'secure-boot-enroll-action',
  'secure-boot-enroll-timeout-sec',
  'reboot-on-error',
  'log-level',
  'random-seed-mode',
]);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function parseLoaderConf(bytes: Uint8Array, where: Where): { conf: LoaderConf; diagnostics: Diagnostic[] } {
  const conf: Mutable<LoaderConf> = {};
  if (bytes.length > LOADERCONF_MAX_BYTES) {
    return {
      conf,
      diagnostics: [
        diag(
          'error',
          SRC,
          `${bytes.length} bytes is over the ${LOADERCONF_MAX_BYTES}-byte limit; ignored`,
          at(where, 1),
        ),
      ],
    };
  }
  const dec = decodeConfig(bytes, where, SRC);
  if (!dec.ok) {
    return { conf, diagnostics: dec.diagnostics.map((d) => ({ ...d, message: `${d.message}; loader.conf ignored` })) };
  }
  const diagnostics = dec.diagnostics;
  const split = splitKeyValueLines(dec.text, DEFAULT_LINE_LIMITS);
  if (split.tooManyLines !== undefined) {
    diagnostics.push(
      diag(
        'warning',
        SRC,
        `more than ${DEFAULT_LINE_LIMITS.maxLines} lines; the rest is ignored`,
        at(where, split.tooManyLines),
      ),
    );
  }
  for (const { key, value, line } of split.lines) {
    const warn = (what: string) =>
      diagnostics.push(diag('warning', SRC, `${what}: ${JSON.stringify(value)}; ignored`, at(where, line)));
    if (key === 'default') {
      if (value.startsWith('@') && value.toLowerCase() !== '@saved') {
        warn("unsupported special entry identifier in 'default'");
        continue;
      }
      conf.default = value.toLowerCase();
      conf.defaultLine = line;
    } else if (key === 'timeout') {
      const t = parseTimeout(value);
      if (!t) warn("'timeout' is not a number of seconds, menu-force, menu-hidden or menu-disabled");
      else conf.timeout = t;
    } else if (key in BOOL_KEYS) {
      const b = parseBool(value);
      const field = BOOL_KEYS[key as keyof typeof BOOL_KEYS];
      if (b === undefined) warn(`'${key}' is not a boolean (yes/no, y/n, true/false, t/f, on/off, 1/0)`);
      else if (field) conf[field] = b;
    } else if (!IGNORED_KEYS.has(key)) {
      diagnostics.push(diag('info', SRC, `unknown key '${key}' ignored`, at(where, line)));
    }
  }
  return { conf, diagnostics };
}
