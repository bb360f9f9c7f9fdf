// Connecting an NVMe/TCP subsystem through the kernel's initiator (docs/net-nvme.md §2): load
// nvme_tcp, write the option string to /dev/nvme-fabrics and read back the controller instance,
// wait for its namespaces' block devices, and mark each read-only (BLKROSET) before anything
// reads it, so neither tendril nor a mistake in it can write to the remote disk.

import { execFile } from 'node:child_process';
import * as dns from 'node:dns/promises';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { blkGetSize64, blkRoSet } from '../../native/sys';
import { NetError } from '../types';
import { fabricsOptions, parseConnectReply, type ConnectTuning, type NvmeHost, type NvmeTarget } from './target';

const FABRICS_DEV = '/dev/nvme-fabrics';

/** A connected controller and the namespaces it brought. */
export interface NvmeConnection {
  readonly target: NvmeTarget;
  /** The numeric address the kernel connected to. */
  readonly address: string;
  /** `nvme<instance>`. */
  readonly controller: string;
  readonly namespaces: readonly NvmeNamespace[];
  /** Connect and namespace discovery, in ms. */
  readonly connectMs: number;
}

export interface NvmeNamespace {
  /** `/dev/nvme0n1`. */
  readonly path: string;
  readonly name: string;
  readonly nsid: number;
  readonly size: number;
}

export interface ConnectOptions {
  readonly host?: NvmeHost;
  readonly tuning?: ConnectTuning;
  /**
   * net.nvme-writable: leave the namespaces writable in the kernel, so that a VM asked to write
   * through (`--write-through`) can. tendril's own readers still open them read-only.
   */
  readonly writable?: boolean;
  /** Whole budget: resolve, connect, namespaces (ms). */
  readonly deadlineMs: number;
  readonly log?: (line: string) => void;
  /** For tests: where sysfs and /dev are. */
  readonly sysClass?: string;
}

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs }, (err, _out, stderr) => {
      resolve(err ? `${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}` : undefined);
    });
  });
}

/** nvme_tcp (and nvme_fabrics) loaded, unless /dev/nvme-fabrics already exists. */
async function loadDriver(log?: (line: string) => void): Promise<void> {
  if (fs.existsSync(FABRICS_DEV)) return;
  const why = await run('modprobe', ['nvme_tcp'], 20_000);
  if (why) log?.(why);
  if (!fs.existsSync(FABRICS_DEV))
    throw new NetError(
      FABRICS_DEV,
      `missing after modprobe nvme_tcp${why ? ` (${why})` : ''}: this kernel has no NVMe over Fabrics initiator`,
      true,
    );
}

async function resolveHost(t: NvmeTarget): Promise<string> {
  if (net.isIP(t.host)) return t.host;
  try {
    return (await dns.lookup(t.host)).address;
  } catch (e) {
    throw new NetError(t.url, `cannot resolve ${t.host}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, true);
  }
}

/** What an errno from the fabrics driver's write usually means, for the message. */
function connectHint(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return ' (nothing listens on that port)';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return ' (no route to the target)';
    case 'ETIMEDOUT':
      return ' (the target did not answer)';
    case 'EINVAL':
      return ' (a bad option, or the target refused the host or the NQN: see the kernel log)';
    case 'EIO':
      return ' (the target refused the connect: unknown NQN, or this host is not allowed)';
    default:
      return '';
  }
}

/** write(2) of the options and read(2) of the reply, off the event loop (a connect can block for seconds). */
async function writeOptions(t: NvmeTarget, options: string): Promise<{ instance: number; cntlid: number }> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(FABRICS_DEV, 'r+');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NetError(t.url, `open(${FABRICS_DEV}): ${code ?? String(e)}`, true);
  }
  try {
    try {
      await fh.write(Buffer.from(options));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new NetError(t.url, `write(${FABRICS_DEV}): ${code ?? String(e)}${connectHint(code)}`, true);
    }
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('latin1');
    const reply = parseConnectReply(text);
    if (!reply) throw new NetError(t.url, `read(${FABRICS_DEV}): unexpected reply ${JSON.stringify(text)}`, true);
    return reply;
  } finally {
    await fh.close();
  }
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The block devices of controller `ctrl`: `nvme<ctrl>n<ns>` without native multipath, or the
 * multipath heads (`nvme<subsys>n<ns>`) of its `nvme<subsys>c<ctrl>n<ns>` paths.
 */
export function namespaceNames(sysClass: string, ctrl: string): string[] {
  let children: string[];
  try {
    children = fs.readdirSync(path.join(sysClass, 'nvme', ctrl));
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const c of children) {
    const direct = /^nvme\d+n\d+$/.exec(c);
    if (direct) out.add(c);
    const viaPath = /^nvme(\d+)c\d+n(\d+)$/.exec(c);
    if (viaPath) out.add(`nvme${viaPath[1]}n${viaPath[2]}`);
  }
  return [...out].filter((n) => fs.existsSync(path.join(sysClass, 'block', n))).sort();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The namespaces, once the controller is live and their list held still for 300 ms. */
async function settledNamespaces(sysClass: string, ctrl: string, until: number): Promise<string[]> {
  let last = '';
  let since = performance.now();
  for (;;) {
    const state = readText(path.join(sysClass, 'nvme', ctrl, 'state'));
    const names = state === 'live' ? namespaceNames(sysClass, ctrl) : [];
    const key = names.join(' ');
    if (key !== last) [last, since] = [key, performance.now()];
    if (names.length && performance.now() - since >= 300) return names;
    if (performance.now() >= until) return names;
    await sleep(50);
  }
}

/** Opens the namespace read-only and (unless `writable`) sets its block device read-only; returns its size. */
function openNamespace(dev: string, writable: boolean): number {
  let fd: number;
  try {
    fd = fs.openSync(dev, fs.constants.O_RDONLY);
  } catch (e) {
    throw new Error(`open(${dev}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    try {
      if (!writable) blkRoSet(fd, true);
    } catch (e) {
      throw new Error(`${dev}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return blkGetSize64(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Connects `t` and returns its namespaces, each already read-only. Rejects with a NetError
 * naming the target and the failing call; a controller that connected but brought no
 * namespace is disconnected again.
 */
export async function connectNvmeTcp(t: NvmeTarget, o: ConnectOptions): Promise<NvmeConnection> {
  const start = performance.now();
  const until = start + o.deadlineMs;
  const sysClass = o.sysClass ?? '/sys/class';
  await loadDriver(o.log);
  const address = await resolveHost(t);
  const options = fabricsOptions(t, address, o.host, o.tuning);
  o.log?.(`nvme-tcp: ${t.url}: connecting (${options})`);
  const left = Math.max(1, until - performance.now());
  let timer: NodeJS.Timeout | undefined;
  const reply = await Promise.race([
    writeOptions(t, options),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new NetError(t.url, `write(${FABRICS_DEV}): no answer within ${Math.round(left / 1000)} s`, true)),
        left,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const controller = `nvme${reply.instance}`;
  const names = await settledNamespaces(sysClass, controller, until);
  if (names.length === 0) {
    disconnect(sysClass, controller);
    throw new NetError(t.url, `${controller} connected (cntlid ${reply.cntlid}) but brought no namespace`, true);
  }
  const namespaces: NvmeNamespace[] = [];
  for (const name of names) {
    const dev = `/dev/${name}`;
    try {
      const size = openNamespace(dev, o.writable === true);
      namespaces.push({ path: dev, name, nsid: Number(/n(\d+)$/.exec(name)![1]), size });
    } catch (e) {
      // Not read-only means not read at all.
      o.log?.(`nvme-tcp: ${t.url}: ${name} skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (namespaces.length === 0) {
    disconnect(sysClass, controller);
    throw new NetError(t.url, `${controller}: none of its namespaces could be made read-only`, true);
  }
  return { target: t, address, controller, namespaces, connectMs: Math.round(performance.now() - start) };
}

/** Best effort: `delete_controller` (what `nvme disconnect` writes). */
export function disconnect(sysClass: string, controller: string): void {
  try {
    fs.writeFileSync(path.join(sysClass, 'nvme', controller, 'delete_controller'), '1');
  } catch {
    // Already gone, or never was: nothing to undo.
  }
}
