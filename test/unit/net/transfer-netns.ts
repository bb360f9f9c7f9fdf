// Two network namespaces joined by a veth pair (server 192.0.2.1, client 192.0.2.2), created
// inside the namespaces (nothing in the root namespace), for the transfer tests' real servers.
// Servers run as children in the server namespace; the client is the real CLI in the client
// namespace. Needs root and iproute2: refused with a clear message otherwise.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const SERVER_IP = '192.0.2.1';
export const CLIENT_IP = '192.0.2.2';
export const SERVER_IP6 = '2001:db8::1';
export const CLIENT_IP6 = '2001:db8::2';
const REPO = path.join(__dirname, '..', '..', '..');
let counter = 0;

export function requireNetns(): void {
  if (process.getuid?.() !== 0) throw new Error('transfer tests need root (network namespaces); run them as root');
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`transfer tests need 'ip netns' (iproute2): ${r.error?.message ?? r.stderr}`);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class NetnsPair {
  readonly server: string;
  readonly client: string;
  readonly dir: string;
  private readonly children: ChildProcess[] = [];

  constructor(tag: string) {
    requireNetns();
    const id = `${process.pid}${counter++}`;
    this.server = `tnbs-${tag}-${id}`;
    this.client = `tnbc-${tag}-${id}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `tendril-${tag}-`));
    const ip = (...a: string[]): void => void execFileSync('ip', a, { stdio: 'pipe' });
    ip('netns', 'add', this.server);
    ip('netns', 'add', this.client);
    ip('-n', this.server, 'link', 'add', 'vs', 'type', 'veth', 'peer', 'name', 'vc', 'netns', this.client);
    for (const [ns, dev, addr, addr6] of [
      [this.server, 'vs', SERVER_IP, SERVER_IP6],
      [this.client, 'vc', CLIENT_IP, CLIENT_IP6],
    ] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      ip('-n', ns, 'addr', 'add', `${addr6}/64`, 'dev', dev, 'nodad');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  }

  /** A command in the server namespace, synchronously (nft, openssl needs none). */
  serverExec(cmd: string, args: readonly string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.server, cmd, ...args], { encoding: 'utf8', stdio: 'pipe' });
  }

  /** A long-running server in the server namespace; killed in close(). */
  startServer(cmd: string, args: readonly string[]): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', this.server, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    c.stdout?.resume();
    c.on('exit', (code) => {
      if (code !== null && code !== 0) process.stderr.write(`${cmd} exited ${code}: ${err}\n`);
    });
    this.children.push(c);
    return c;
  }

  /** Waits until something in the server namespace listens on `port` (tcp or udp). */
  async waitListening(proto: 'tcp' | 'udp', port: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const out = spawnSync('ip', ['netns', 'exec', this.server, 'ss', proto === 'tcp' ? '-ltnH' : '-lunH'], {
        encoding: 'utf8',
      });
      if (new RegExp(`:${port}\\s`).test(out.stdout)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nothing listens on ${proto}/${port} in ${this.server} after ${timeoutMs} ms`);
  }

  /** `node bin/tendril.js ARGS` in the client namespace. */
  cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const c = spawn(
        'ip',
        ['netns', 'exec', this.client, process.execPath, path.join(REPO, 'bin', 'tendril.js'), ...args],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
        },
      );
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  close(): void {
    for (const c of this.children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGTERM');
    for (const ns of [this.server, this.client]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
