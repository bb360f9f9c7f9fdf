// tendril's own settings: every key of /etc/tendril/tendril.toml and of the `tendril.*` kernel
// arguments, declared once with its parser and default (README "Settings" lists them). A value
// that does not parse keeps the default and is reported with its file and line (or kernel
// argument): a typo in flash must never stop the machine from booting.

import { parseInputDevicesChoice, type InputDevicesChoice } from '../vm/input-choice';
import { parseDisplayOut } from '../vm/display/output-choice';
import type { Identity } from '../net/types';
import { nqnProblem, parseNvmeTarget } from '../net/nvme/target';
import { parseSize } from '../util/args';
import { MAX_CPUS } from '../vm/limits';
import { RTC_MODES, type RtcMode } from '../vm/host-tables';
import { CONSOLE_INPUTS, type ConsoleInput } from '../vm/protocol';
import { MiB, RAM_MAX, RAM_MIN } from '../vm/memory';

/** How /init's tendril brings the network up (`tendril.net=`). */
export type NetMode =
  { readonly kind: 'off' } | { readonly kind: 'dhcp' } | { readonly kind: 'ip'; readonly spec: string };

export interface NetSettings {
  readonly mode: NetMode;
  readonly identity: Identity;
  /** Address families network boot configures: `both` (DHCPv4 and DHCPv6/SLAAC in parallel), `4`, `6`. */
  readonly family: 'both' | '4' | '6';
  /** Trust for https: a PEM bundle path, or Node's compiled-in Mozilla roots. */
  readonly ca: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'system' };
  /** Seconds DHCP may take on all NICs together before network boot gives up. */
  readonly timeout: number;
  /** `http://host:port` for http and https (CONNECT); overrides $http_proxy / $https_proxy. */
  readonly proxy?: string;
  /** Comma-separated hosts or domain suffixes that bypass the proxy. */
  readonly noProxy?: string;
  /** Refuse to boot a downloaded file (kernel, initrd, UKI) that no sha256 pin vouches for. */
  readonly requireVerified: boolean;
  /** The sha256 each URL's bytes must have (`[net.pins]`: URL = hex), for every network file. */
  readonly pins: Readonly<Record<string, string>>;
  /** NTP servers (names or addresses) asked before the first https fetch, besides DHCP option 42. */
  readonly ntp: readonly string[];
  /** Absent: `set` under tendril's initramfs, `check` elsewhere (src/net/clock.ts). */
  readonly clock?: ClockMode;
  /** Signed checksums for network entries: a URL or a name relative to the boot file, or "none". */
  readonly sums: string;
  /** Largest disk image a boot file may name, decompressed, in MiB (docs/net-bootfiles.md §9.2). */
  readonly maxImageMiB: number;
  /** The URL this boot came from, for `uki-url :name` and `bootorigin` pulls (docs/net-bootfiles.md §8); absent: the lease's boot file. */
  readonly origin?: string;
  /** Download `rd.systemd.pull=` images for the OS into an extra initrd (docs/net-bootfiles.md §8.3); absent: off. */
  readonly pullPrefetch?: boolean;
  /** The largest such image, in MiB; absent: PULL_PREFETCH_MAX_MIB. */
  readonly pullPrefetchMaxMiB?: number;
  /** dracut `vlan=` / `bond=` values (src/net/vlan-bond.ts), checked when network boot uses them. */
  readonly vlan: readonly string[];
  readonly bond: readonly string[];
  /** NVMe/TCP targets, `tcp://HOST[:PORT]/NQN` (docs/net-nvme.md), connected once the network is up. */
  readonly nvme: readonly string[];
  /** The host NQN tendril gives the targets; absent: derived from the SMBIOS UUID (docs/net-nvme.md §2). */
  readonly nvmeHostnqn?: string;
  /** Leave NVMe/TCP namespaces writable in the kernel, for a VM that writes through (docs/net-nvme.md §3); absent: read-only. */
  readonly nvmeWritable?: boolean;
}

/** What the SNTP answer does to the system clock (docs/net-dhcp.md §9); the RTC is never written. */
export type ClockMode = 'set' | 'check' | 'off';

/** Measured boot (docs/measured-boot.md): auto = when a TPM exists, require = refuse to boot without one. */
export type TpmMeasure = 'auto' | 'off' | 'require';

/** The only writes tendril makes (docs/state.md): boot counting, grub's one-shot, its state file. */
export interface StateSettings {
  /** `tendril.readonly=1`: make none of them (the boot goes on; each skipped write is logged). */
  readonly readonly: boolean;
  /** Fault injection for the power-cut tests: stop (hang) right after the N-th write. */
  readonly stopAfter?: number;
}

/** Signature policy (docs/signatures.md §5): warn marks unverified entries, require refuses them. */
export type TrustPolicy = 'off' | 'warn' | 'require';

export interface TrustSettings {
  readonly policy: TrustPolicy;
  /** X.509 certificates (`*.pem`) for Authenticode, in the initramfs. */
  readonly db: string;
  /** minisign and OpenSSH public keys (`*.pub`) for detached signatures, in the initramfs. */
  readonly keys: string;
}

/**
 * The VM that efi entries boot in (src/boot/vm-plan.ts), for the menu and `tendril boot`; their
 * command-line options override these. Absent = the VMM's own default.
 */
export interface VmSettings {
  readonly cpus?: number;
  readonly ramBytes?: number;
  /** UEFI firmware (CODE image, or a unified one) in the initramfs; absent = Debian's OVMF, found. */
  readonly firmware?: string;
  /** Start from the variable store with Secure Boot keys enrolled. */
  readonly secureBoot: boolean;
  /** The controller the loader's disk is on (src/boot/vm-plan.ts diskInterfaceFor); absent = auto. */
  readonly diskInterface?: VmDiskInterface;
  /** What the guest's CMOS clock shows (src/vm/host-tables.ts); absent = utc. */
  readonly rtc?: RtcMode;
  /** Where the console's keystrokes go in the VM (src/vm/protocol.ts); absent = serial. */
  readonly input?: ConsoleInput;
  /** The host's keyboards and mice for the VM (src/vm/input-choice.ts); absent = auto with a display. */
  readonly inputDevices?: InputDevicesChoice | 'none';
  /** A display device (src/vm/display/); absent = auto (src/boot/vm-plan.ts). */
  readonly display?: boolean;
  /** Where that display is shown on this machine (src/vm/display/output-choice.ts); absent = auto. */
  readonly displayOutput?: string;
  /** Hyper-V enlightenments (src/vm/hyperv.ts); absent = auto (on for Windows Boot Manager). */
  readonly hyperv?: boolean;
}

/** `auto`: NVMe for a disk that is NVMe on the host, AHCI for Windows Boot Manager on a host SATA
 *  disk, NVMe for Windows Boot Manager elsewhere, else virtio (src/boot/vm-plan.ts). */
export const VM_DISK_INTERFACES = ['auto', 'virtio', 'nvme', 'ahci'] as const;
export type VmDiskInterface = (typeof VM_DISK_INTERFACES)[number];

export interface Settings {
  readonly net: NetSettings;
  readonly tpm: { readonly measure: TpmMeasure };
  readonly state: StateSettings;
  readonly trust: TrustSettings;
  readonly vm: VmSettings;
}

/** net.pull-prefetch-max when it is not set. */
export const PULL_PREFETCH_MAX_MIB = 1024;

export const DEFAULT_CA_FILE = '/etc/tendril/netboot-ca.pem';

export const DEFAULT_SETTINGS: Settings = {
  net: {
    mode: { kind: 'dhcp' },
    identity: 'pxe',
    family: 'both',
    ca: { kind: 'file', path: DEFAULT_CA_FILE },
    timeout: 60,
    requireVerified: false,
    pins: {},
    ntp: [],
    sums: 'SHA256SUMS',
    maxImageMiB: 8192,
    vlan: [],
    bond: [],
    nvme: [],
  },
  tpm: { measure: 'auto' },
  state: { readonly: false },
  trust: { policy: 'off', db: '/etc/tendril/db', keys: '/etc/tendril/keys' },
  vm: { secureBoot: false },
};

/** One key: where it lives, what it takes, how its text or TOML value becomes a setting. */
export interface KeyDef {
  /** `net.identity`: TOML table `[net]`, key `identity`; kernel argument `tendril.net.identity=`. */
  readonly path: readonly [string, string];
  /** What the value must be, for the error message. */
  readonly expect: string;
  /** A TOML value (or a kernel argument's text) to the new settings; undefined = invalid. */
  readonly apply: (s: Settings, v: unknown) => Settings | undefined;
  /** For a kernel argument instead of apply, where it must differ (trust: only stricter). */
  readonly fromArg?: (s: Settings, v: string) => Settings | undefined;
}

const IDENTITIES: readonly Identity[] = ['pxe', 'http', 'ipxe', 'tendril'];

const withNet = (s: Settings, n: Partial<NetSettings>): Settings => ({ ...s, net: { ...s.net, ...n } });

/** `off`, `dhcp`, or a dracut `ip=` value (validated by the network code when it is used). */
export function parseNetMode(v: string): NetMode | undefined {
  if (v === 'off' || v === 'none') return { kind: 'off' };
  if (v === 'dhcp' || v === 'on' || v === '') return { kind: 'dhcp' };
  return v.length <= 512 && /^[\x21-\x7e]+$/.test(v) ? { kind: 'ip', spec: v } : undefined;
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no') return false;
  return undefined;
}

/** A TOML integer, or a kernel argument's decimal text, in [min, max]. */
function int(v: unknown, min: number, max: number): number | undefined {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'bigint'
        ? Number(v)
        : typeof v === 'string' && /^\d{1,9}$/.test(v)
          ? Number(v)
          : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

const str = (v: unknown, max = 4096): string | undefined =>
  typeof v === 'string' && v.length <= max && !v.includes('\0') ? v : undefined;

const CLOCK_MODES: readonly ClockMode[] = ['set', 'check', 'off'];
// An IPv4 or IPv6 literal, a bracketed IPv6 literal, or a host name (RFC 1123 labels).
const NTP_HOST =
  /^(?:\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?)$/;

/** A TOML list of hosts, or a kernel argument's comma-separated text; at most 8, each ≤ 253 chars. */
function ntpList(v: unknown): string[] | undefined {
  const items = typeof v === 'string' ? (v === '' ? [] : v.split(',')) : Array.isArray(v) ? v : undefined;
  if (!items || items.length > 8) return undefined;
  const out: string[] = [];
  for (const h of items) {
    if (typeof h !== 'string' || h.length > 253 || !NTP_HOST.test(h)) return undefined;
    out.push(h);
  }
  return out;
}

const TPM_MEASURE: readonly TpmMeasure[] = ['auto', 'off', 'require'];
/** In order of strictness. */
const TRUST_POLICY: readonly TrustPolicy[] = ['off', 'warn', 'require'];
const withTrust = (s: Settings, t: Partial<TrustSettings>): Settings => ({ ...s, trust: { ...s.trust, ...t } });
const trustDir = (key: 'db' | 'keys') => (s: Settings, v: unknown) => {
  const t = str(v, 1024);
  return t?.startsWith('/') ? withTrust(s, { [key]: t }) : undefined;
};

const withVm = (s: Settings, v: Partial<VmSettings>): Settings => ({ ...s, vm: { ...s.vm, ...v } });

/** An `apply` that parses the value and, when it parses, sets it; undefined (invalid) otherwise. */
const parsed =
  <T>(parse: (v: unknown) => T | undefined, set: (s: Settings, t: T) => Settings) =>
  (s: Settings, v: unknown): Settings | undefined => {
    const t = parse(v);
    return t === undefined ? undefined : set(s, t);
  };

/** A TOML integer (MiB) or a size text (`2G`, `1536M`; a bare number is MiB), within the VMM's limits. */
function ramSize(v: unknown): number | undefined {
  const n =
    typeof v === 'number' || typeof v === 'bigint'
      ? Number(v) * MiB
      : typeof v === 'string' && v.length <= 32
        ? parseSize(v, MiB)
        : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n >= RAM_MIN && n <= RAM_MAX && n % MiB === 0 ? n : undefined;
}

/** A TOML string or list of at most 16 dracut values (each ≤ 512 printable characters). */
function linkArgs(v: unknown): string[] | undefined {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!items || items.length > 16) return undefined;
  const ok = (x: unknown): x is string => typeof x === 'string' && x.length <= 512 && /^[\x21-\x7e]+$/.test(x);
  return items.every(ok) ? items : undefined;
}

/** A TOML string or list of at most 8 NVMe/TCP target URLs, each one parseNvmeTarget accepts. */
function nvmeTargets(v: unknown): string[] | undefined {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!items || items.length > 8) return undefined;
  const ok = (x: unknown): x is string => {
    if (typeof x !== 'string') return false;
    try {
      parseNvmeTarget(x);
      return true;
    } catch {
      return false;
    }
  };
  return items.every(ok) ? items : undefined;
}

/**
 * net.vlan / net.bond: the file's list, or one value a kernel argument (`tendril.net.vlan=`, or
 * dracut's own `vlan=`) adds to it; src/net/vlan-bond.ts checks them when network boot runs.
 */
function linkKey(key: 'vlan' | 'bond'): KeyDef {
  return {
    path: ['net', key],
    expect: `a dracut ${key}= value or a list of them (at most 16)`,
    apply: parsed(linkArgs, (s, l) => withNet(s, { [key]: l })),
    fromArg: (s, v) => {
      const l = linkArgs(v);
      return l && s.net[key].length < 16 ? withNet(s, { [key]: [...s.net[key], ...l] }) : undefined;
    },
  };
}

export const KEYS: readonly KeyDef[] = [
  {
    path: ['net', 'mode'],
    expect: "'off', 'dhcp' or a dracut ip= value",
    apply: (s, v) => {
      const m = typeof v === 'string' ? parseNetMode(v) : undefined;
      return m && withNet(s, { mode: m });
    },
  },
  {
    path: ['net', 'identity'],
    expect: IDENTITIES.join(', '),
    apply: (s, v) => (IDENTITIES.includes(v as Identity) ? withNet(s, { identity: v as Identity }) : undefined),
  },
  {
    path: ['net', 'family'],
    expect: 'both, 4 or 6',
    apply: (s, v) => {
      // TOML may say 4 or "4"; a kernel argument is text.
      const f = typeof v === 'number' || typeof v === 'bigint' ? String(v) : v;
      return f === 'both' || f === '4' || f === '6' ? withNet(s, { family: f }) : undefined;
    },
  },
  {
    path: ['net', 'ca'],
    expect: "'system' or an absolute path to a PEM bundle",
    apply: (s, v) => {
      const t = str(v);
      if (t === 'system') return withNet(s, { ca: { kind: 'system' } });
      return t?.startsWith('/') ? withNet(s, { ca: { kind: 'file', path: t } }) : undefined;
    },
  },
  {
    path: ['net', 'timeout'],
    expect: 'whole seconds from 1 to 3600',
    apply: parsed(
      (v) => int(v, 1, 3600),
      (s, n) => withNet(s, { timeout: n }),
    ),
  },
  {
    path: ['net', 'proxy'],
    expect: 'an http:// URL',
    apply: (s, v) => {
      const t = str(v, 1024);
      return t !== undefined && /^http:\/\/[^\s/]+\/?$/.test(t) ? withNet(s, { proxy: t }) : undefined;
    },
  },
  {
    path: ['net', 'no-proxy'],
    expect: 'a comma-separated list of hosts',
    apply: (s, v) => {
      const t = str(v, 4096);
      return t === undefined ? undefined : withNet(s, { noProxy: t });
    },
  },
  {
    path: ['net', 'require-verified'],
    expect: 'true or false',
    apply: parsed(bool, (s, b) => withNet(s, { requireVerified: b })),
  },
  {
    path: ['net', 'ntp'],
    expect: 'a list of at most 8 NTP server names or addresses (kernel argument: comma-separated)',
    apply: (s, v) => {
      const l = ntpList(v);
      return l && withNet(s, { ntp: l });
    },
  },
  {
    path: ['net', 'clock'],
    expect: CLOCK_MODES.join(', '),
    apply: (s, v) => (CLOCK_MODES.includes(v as ClockMode) ? withNet(s, { clock: v as ClockMode }) : undefined),
  },
  {
    // Not a kernel argument: a command line from a disk must not turn the sums off (docs/net-transfer.md §9).
    path: ['net', 'sums'],
    expect: 'a URL, a file name relative to the boot file, or "none" (not a kernel argument)',
    apply: (s, v) => {
      const t = str(v, 4096);
      return t && !/[\0-\x20\x7f]/.test(t) ? withNet(s, { sums: t }) : undefined;
    },
    fromArg: () => undefined,
  },
  {
    path: ['net', 'origin'],
    expect: 'an http://, https:// or tftp:// URL',
    apply: (s, v) => {
      const t = str(v, 4096);
      return t && /^(https?|tftp):\/\/[^\s/?#]+[^\s]*$/i.test(t) ? withNet(s, { origin: t }) : undefined;
    },
  },
  {
    path: ['net', 'max-image'],
    expect: 'whole MiB from 1 to 1048576',
    apply: parsed(
      (v) => int(v, 1, 1 << 20),
      (s, n) => withNet(s, { maxImageMiB: n }),
    ),
  },
  {
    path: ['net', 'pull-prefetch'],
    expect: 'true or false',
    apply: parsed(bool, (s, b) => withNet(s, { pullPrefetch: b })),
  },
  {
    // newc's c_filesize has 8 hex digits: below 4 GiB.
    path: ['net', 'pull-prefetch-max'],
    expect: 'whole MiB from 1 to 4095',
    apply: parsed(
      (v) => int(v, 1, 4095),
      (s, n) => withNet(s, { pullPrefetchMaxMiB: n }),
    ),
  },
  linkKey('vlan'),
  linkKey('bond'),
  {
    path: ['net', 'nvme'],
    expect: 'a tcp://HOST[:PORT]/NQN NVMe/TCP target or a list of them (at most 8)',
    apply: parsed(nvmeTargets, (s, l) => withNet(s, { nvme: l })),
    fromArg: (s, v) => {
      const l = nvmeTargets(v);
      return l && s.net.nvme.length + l.length <= 8 ? withNet(s, { nvme: [...s.net.nvme, ...l] }) : undefined;
    },
  },
  {
    path: ['net', 'nvme-writable'],
    expect: 'true or false',
    apply: parsed(bool, (s, b) => withNet(s, { nvmeWritable: b })),
  },
  {
    path: ['net', 'nvme-hostnqn'],
    expect: 'an NVMe Qualified Name (nqn.…, at most 223 bytes)',
    apply: (s, v) => {
      const t = str(v, 223);
      return t !== undefined && nqnProblem(t) === undefined ? withNet(s, { nvmeHostnqn: t }) : undefined;
    },
  },
  {
    path: ['tpm', 'measure'],
    expect: TPM_MEASURE.join(', '),
    apply: (s, v) => (TPM_MEASURE.includes(v as TpmMeasure) ? { ...s, tpm: { measure: v as TpmMeasure } } : undefined),
  },
  {
    path: ['state', 'readonly'],
    expect: 'true or false',
    apply: parsed(bool, (s, b) => ({ ...s, state: { ...s.state, readonly: b } })),
  },
  {
    path: ['state', 'stop-after'],
    expect: 'a write count from 1 to 100',
    apply: parsed(
      (v) => int(v, 1, 100),
      (s, n) => ({ ...s, state: { ...s.state, stopAfter: n } }),
    ),
  },
  {
    // The boot's own command line may come from a disk: there it may only make the policy stricter.
    path: ['trust', 'policy'],
    expect: `${TRUST_POLICY.join(', ')} (a kernel argument only makes it stricter)`,
    apply: (s, v) => (TRUST_POLICY.includes(v as TrustPolicy) ? withTrust(s, { policy: v as TrustPolicy }) : undefined),
    fromArg: (s, v) => {
      const n = TRUST_POLICY.indexOf(v as TrustPolicy);
      return n >= 0 && n >= TRUST_POLICY.indexOf(s.trust.policy)
        ? withTrust(s, { policy: v as TrustPolicy })
        : undefined;
    },
  },
  {
    path: ['trust', 'db'],
    expect: 'an absolute directory in the initramfs (not a kernel argument)',
    apply: trustDir('db'),
    fromArg: () => undefined,
  },
  {
    path: ['trust', 'keys'],
    expect: 'an absolute directory in the initramfs (not a kernel argument)',
    apply: trustDir('keys'),
    fromArg: () => undefined,
  },
  {
    path: ['vm', 'cpus'],
    expect: `a vCPU count from 1 to ${MAX_CPUS}`,
    apply: parsed(
      (v) => int(v, 1, MAX_CPUS),
      (s, n) => withVm(s, { cpus: n }),
    ),
  },
  {
    path: ['vm', 'memory'],
    expect: `whole MiB from ${RAM_MIN / MiB}M to ${RAM_MAX / MiB / 1024}G (e.g. "2G"; a bare number is MiB)`,
    apply: parsed(ramSize, (s, n) => withVm(s, { ramBytes: n })),
  },
  {
    // Not a kernel argument: a command line from a disk must not swap the firmware the VM trusts.
    path: ['vm', 'firmware'],
    expect: 'an absolute path to UEFI firmware in the initramfs (not a kernel argument)',
    apply: (s, v) => {
      const t = str(v, 1024);
      return t?.startsWith('/') ? withVm(s, { firmware: t }) : undefined;
    },
    fromArg: () => undefined,
  },
  {
    // Like trust.policy: a kernel argument may turn Secure Boot on, never off.
    path: ['vm', 'secure-boot'],
    expect: 'true or false (a kernel argument can only turn it on)',
    apply: parsed(bool, (s, b) => withVm(s, { secureBoot: b })),
    fromArg: (s, v) => (bool(v) === true ? withVm(s, { secureBoot: true }) : undefined),
  },
  {
    path: ['vm', 'display'],
    expect: 'true or false',
    apply: parsed(bool, (s, b) => withVm(s, { display: b })),
  },
  {
    path: ['vm', 'display-output'],
    expect: 'auto, none, /dev/fbN or /dev/dri/cardN',
    apply: (s, v) => {
      if (typeof v !== 'string') return undefined;
      try {
        return withVm(s, { displayOutput: parseDisplayOut(v) });
      } catch {
        return undefined;
      }
    },
  },
  {
    path: ['vm', 'hyperv'],
    expect: 'true or false',
    apply: parsed(bool, (s, b) => withVm(s, { hyperv: b })),
  },
  {
    path: ['vm', 'input'],
    expect: CONSOLE_INPUTS.join(', '),
    apply: (s, v) => (CONSOLE_INPUTS.includes(v as ConsoleInput) ? withVm(s, { input: v as ConsoleInput }) : undefined),
  },
  {
    path: ['vm', 'input-devices'],
    expect: 'auto, none or /dev/input/eventN[,...]',
    apply: (s, v) => {
      if (typeof v !== 'string') return undefined;
      try {
        return withVm(s, { inputDevices: parseInputDevicesChoice(v) ?? 'none' });
      } catch {
        return undefined;
      }
    },
  },
  {
    path: ['vm', 'rtc'],
    expect: RTC_MODES.join(', '),
    apply: (s, v) => (RTC_MODES.includes(v as RtcMode) ? withVm(s, { rtc: v as RtcMode }) : undefined),
  },
  {
    path: ['vm', 'disk-interface'],
    expect: VM_DISK_INTERFACES.join(', '),
    apply: (s, v) =>
      VM_DISK_INTERFACES.includes(v as VmDiskInterface)
        ? withVm(s, { diskInterface: v as VmDiskInterface })
        : undefined,
  },
  {
    path: ['net', 'pins'],
    expect: 'a table of URL = "64 hex digits (sha256)", at most 1024 of them',
    apply: (s, v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) return undefined;
      const entries = Object.entries(v);
      if (entries.length > 1024) return undefined;
      const pins: Record<string, string> = {};
      for (const [url, hex] of entries) {
        if (url.length > 4096 || !/^(tftp|https?):\/\//.test(url)) return undefined;
        if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
        pins[url] = hex.toLowerCase();
      }
      return withNet(s, { pins });
    },
  },
];

/** Kernel arguments that name a key by a shorter name (`tendril.net=dhcp`). */
export const ARG_ALIASES: Readonly<Record<string, string>> = {
  'tendril.net': 'net.mode',
  'tendril.readonly': 'state.readonly',
  'tendril.origin': 'net.origin',
  'tendril.nvme': 'net.nvme',
  'tendril.pull-prefetch': 'net.pull-prefetch',
};
