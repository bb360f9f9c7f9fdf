// NVMe over TCP targets (docs/net-nvme.md): the URL form tendril takes them in, the option string
// the kernel's fabrics driver parses from /dev/nvme-fabrics, and the dracut words that let the
// kexec'd OS connect to the same namespace. Pure functions: connect.ts talks to the kernel.

import * as net from 'node:net';
import { NetError } from '../types';

/** The IANA port for NVMe/TCP I/O controllers (8009 is for discovery controllers). */
export const NVME_TCP_PORT = 4420;

/** An NVMe/TCP subsystem to connect to. */
export interface NvmeTarget {
  /** As written (`tcp://host:port/nqn`), for messages. */
  readonly url: string;
  /** An IPv4 or IPv6 address, or a host name still to resolve. */
  readonly host: string;
  readonly port: number;
  /** The subsystem's NVMe Qualified Name. */
  readonly nqn: string;
}

/** Who tendril says it is to the target (the NVMe base specification defines the NQN; the Host Identifier is a UUID). */
export interface NvmeHost {
  readonly hostnqn: string;
  /** A UUID; absent: the kernel makes one up for this boot. */
  readonly hostid?: string;
}

// The NVMe base specification: an NQN is at most 223 bytes, UTF-8, starting "nqn." (or the
// well-known discovery NQN). The kernel splits its option string at ',' and '=' and on white
// space, so none of those may appear in a value tendril passes.
const NQN_MAX = 223;
const NQN_RE = /^nqn\.[\x21-\x7e]+$/;
const UNSAFE = /[,=\s\\]/;

/** Why `nqn` cannot be passed to the kernel, or undefined when it can. */
export function nqnProblem(nqn: string): string | undefined {
  if (Buffer.byteLength(nqn) > NQN_MAX) return `the NQN is longer than ${NQN_MAX} bytes`;
  if (!NQN_RE.test(nqn)) return 'an NQN starts with "nqn." and holds printable ASCII only';
  if (UNSAFE.test(nqn)) return "an NQN here may not hold ',', '=', '\\' or white space (the kernel's option syntax)";
  return undefined;
}

/**
 * `tcp://HOST[:PORT]/NQN` (also `nvme+tcp://`, the form an iPXE-style sanboot URL takes). HOST
 * is an IPv4 address, a bracketed IPv6 one or a name; PORT defaults to 4420.
 */
export function parseNvmeTarget(url: string): NvmeTarget {
  const fail = (why: string): never => {
    throw new NetError(url.slice(0, 300), `not an NVMe/TCP target (tcp://HOST[:PORT]/NQN): ${why}`, true);
  };
  if (url.length > 1024) fail('longer than 1024 characters');
  const m = /^(?:nvme\+)?tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^/:[\]]+)(?::(\d{1,5}))?\/(.+)$/.exec(url);
  if (!m) return fail('expected tcp://HOST[:PORT]/NQN');
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  if (m[1]!.startsWith('[') && net.isIPv6(host) === false) fail(`${host} is not an IPv6 address`);
  if (!net.isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(host))
    fail(`${host} is neither an IP address nor a host name`);
  const port = m[2] !== undefined ? Number(m[2]) : NVME_TCP_PORT;
  if (port < 1 || port > 65535) fail(`port ${m[2]} is out of range`);
  let nqn: string;
  try {
    nqn = decodeURIComponent(m[3]!);
  } catch {
    return fail('the NQN is not valid percent-encoding');
  }
  const problem = nqnProblem(nqn);
  if (problem) fail(problem);
  return { url, host, port, nqn };
}

/** The host NQN and id derived from the SMBIOS UUID, as `nvme gen-hostnqn` does; undefined without one. */
export function hostFromUuid(uuid: string | undefined): NvmeHost | undefined {
  if (uuid === undefined || !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(uuid)) return undefined;
  // All-zero or all-ones UUIDs are what boards without one report: not an identity.
  if (/^[0-]+$/.test(uuid) || /^[f-]+$/.test(uuid)) return undefined;
  return { hostnqn: `nqn.2014-08.org.nvmexpress:uuid:${uuid}`, hostid: uuid };
}

/** net.nvme-hostnqn when set (with the SMBIOS UUID as its id), else the one the UUID gives. */
export function nvmeHost(hostnqn: string | undefined, uuid: string | undefined): NvmeHost | undefined {
  const derived = hostFromUuid(uuid);
  if (hostnqn === undefined) return derived;
  return { hostnqn, ...(derived ? { hostid: derived.hostid } : {}) };
}

/** Settings of one connection beyond the target (docs/net-nvme.md §2). */
export interface ConnectTuning {
  /** Seconds the kernel keeps retrying a lost controller before failing I/O (its default is 600). */
  readonly ctrlLossTmo: number;
  readonly reconnectDelay: number;
}

export const DEFAULT_TUNING: ConnectTuning = { ctrlLossTmo: 10, reconnectDelay: 2 };

/**
 * The option string for /dev/nvme-fabrics (drivers/nvme/host/fabrics.c, opt_tokens). `address`
 * is the resolved host: the kernel takes only numeric addresses.
 */
export function fabricsOptions(
  t: NvmeTarget,
  address: string,
  host: NvmeHost | undefined,
  tuning: ConnectTuning = DEFAULT_TUNING,
): string {
  if (!net.isIP(address)) throw new NetError(t.url, `${address} is not an IP address`, true);
  const words = [
    'transport=tcp',
    `traddr=${address}`,
    `trsvcid=${t.port}`,
    `nqn=${t.nqn}`,
    ...(host ? [`hostnqn=${host.hostnqn}`] : []),
    ...(host?.hostid !== undefined ? [`hostid=${host.hostid}`] : []),
    `ctrl_loss_tmo=${tuning.ctrlLossTmo}`,
    `reconnect_delay=${tuning.reconnectDelay}`,
  ];
  return words.join(',');
}

/** `instance=N,cntlid=M`: what the kernel answers a successful connect with. */
export function parseConnectReply(text: string): { instance: number; cntlid: number } | undefined {
  const m = /^instance=(\d{1,6}),cntlid=(\d{1,5})\s*$/.exec(text);
  return m ? { instance: Number(m[1]), cntlid: Number(m[2]) } : undefined;
}

/**
 * The words the kexec'd OS needs to reach the same namespace: dracut's nvmf module
 * (dracut.cmdline(7): `rd.nvmf.discover=tcp,TRADDR,HOST_TRADDR,TRSVCID`, `rd.nvmf.hostnqn=`,
 * `rd.nvmf.hostid=`), so the target sees the same host identity tendril used.
 */
export function handOnWords(t: NvmeTarget, address: string, host: NvmeHost | undefined): string[] {
  return [
    `rd.nvmf.discover=tcp,${address},,${t.port}`,
    ...(host ? [`rd.nvmf.hostnqn=${host.hostnqn}`] : []),
    ...(host?.hostid !== undefined ? [`rd.nvmf.hostid=${host.hostid}`] : []),
  ];
}
