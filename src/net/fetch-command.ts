// `tendril fetch URL [--sha256 H] [-o FILE] [--ca FILE|system] [--max-bytes N]`: download one
// file the way network boot does (same CA rules, limits, retries), print a progress line on
// stderr and `URL size sha256` on stdout. Exit 1 with the NetError's message on failure.
// See docs/net-transfer.md §6.

import * as fs from 'node:fs';
import { formatTransferProgress } from '../kexec/progress';
import { ArgError, commandArgs, type CommandSpec, custom, flag, num, type Options, size, text } from '../util/args';
import { printable } from '../util/printable';
import { createFetch, downloadToMemfd, type FetchConfig } from './fetch';
import { parseTrustedKeys, pinFromSignedSums, SumsError } from './sums';
import { NetError, type TransferProgress } from './types';

const DEFAULT_MAX = 2 * 1024 ** 3;

const FETCH_OPTIONS = {
  sha256: custom({
    metavar: 'HEX',
    help: 'the sha256 the file must have (64 hex digits)',
    parse: (raw) => {
      if (!/^[0-9a-fA-F]{64}$/.test(raw)) throw new ArgError(`needs 64 hex digits, got '${raw}'`);
      return raw.toLowerCase();
    },
  }),
  output: text({ metavar: 'FILE', help: 'write the bytes to FILE (only after every check passed)' }),
  ca: text({
    metavar: 'FILE|system',
    help: "PEM bundle https trusts, or 'system' for the public roots (default: /etc/tendril/netboot-ca.pem when it exists)",
  }),
  maxBytes: size({ metavar: 'SIZE', help: 'refuse a larger file (default 2G)', min: 1, max: 2 ** 50, defaultUnit: 1 }),
  sums: text({
    metavar: 'URL',
    help: 'a SHA256SUMS file whose SSHSIG signature (URL.sig) must verify with --trusted-keys; the file must be listed in it',
  }),
  trustedKeys: text({ metavar: 'FILE', help: "OpenSSH public keys ('ssh-ed25519 AAAA… comment' lines) --sums trusts" }),
  retries: num({
    metavar: 'N',
    help: 'attempts after the first (http) or retransmissions of one packet (tftp) before giving up (default 4 / 8)',
    min: 0,
    max: 20,
    integer: true,
  }),
  connectTimeout: num({
    metavar: 'S',
    help: 'deadline of the TCP connect, proxy CONNECT and TLS handshake, each (default 10)',
    min: 0.1,
    max: 600,
    unit: 'seconds',
  }),
  idleTimeout: num({
    metavar: 'S',
    help: 'longest silence of an http(s) server (default 30)',
    min: 0.1,
    max: 3600,
    unit: 'seconds',
  }),
  verbose: flag({ help: 'print option negotiation, redirects, resumes and retries on stderr' }),
  proxy: text({
    metavar: 'URL',
    help: "HTTP proxy (default: $https_proxy/$http_proxy, minus $no_proxy); 'none' for none",
  }),
} as const;

interface FetchArgs extends Options<typeof FETCH_OPTIONS> {
  readonly url: string;
}

export const FETCH_COMMAND: CommandSpec<typeof FETCH_OPTIONS, FetchArgs> = {
  name: 'fetch',
  synopsis:
    'URL [--sha256 HEX] [-o|--output FILE] [--ca FILE|system] [--max-bytes SIZE] [--proxy URL] [--sums URL --trusted-keys FILE] [--retries N] [--connect-timeout S] [--idle-timeout S] [--verbose]',
  summary: 'Download one file over tftp, http or https as network boot does; print its URL, size and sha256.',
  options: FETCH_OPTIONS,
  positional: { name: 'URL', min: 1, max: 1, help: 'a tftp://, http:// or https:// URL' },
  notes: ['The progress line goes to stderr; stdout gets one line: URL SIZE SHA256.'],
  build: (p) => {
    if ((p.opts.sums === undefined) !== (p.opts.trustedKeys === undefined))
      throw new ArgError('--sums and --trusted-keys go together');
    return { url: p.positional[0]!, ...p.opts };
  },
};

/** Progress on stderr: a live `\r` line on a terminal, a line every 10 % (or 8 MiB) otherwise. */
export function progressPrinter(err: NodeJS.WriteStream): (p: TransferProgress) => void {
  let lastLogged = 0;
  return (p) => {
    const line = printable(
      formatTransferProgress({ label: p.url, done: p.done, total: p.total, elapsedMs: p.elapsedMs }),
    );
    const final = p.total !== undefined && p.done >= p.total;
    if (err.isTTY) {
      // The finished line stays, so what follows starts on a line of its own.
      err.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    const step = p.total !== undefined ? Math.max(p.total / 10, 1) : 8 << 20;
    if (final || p.done - lastLogged >= step) {
      lastLogged = p.done;
      err.write(`${line}\n`);
    }
  };
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SumsError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export async function runFetchCommand(argv: string[]): Promise<number> {
  // `-o FILE` as curl and wget spell it; the shared parser only knows long options.
  const dd = argv.indexOf('--');
  const args = argv.map((x, i) => (x === '-o' && (dd < 0 || i < dd) ? '--output' : x));
  const parsed = commandArgs(FETCH_COMMAND, args);
  if ('exit' in parsed) return parsed.exit;
  const a = parsed.args;
  const ac = new AbortController();
  const onSig = (): void => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSig);
  try {
    const cfg: FetchConfig = {
      ...(a.verbose ? { onInfo: (m: string) => process.stderr.write(`${printable(m)}\n`) } : {}),
      ...(a.retries !== undefined ? { tftp: { retries: a.retries } } : {}),
      http: {
        ...(a.retries !== undefined ? { retries: a.retries } : {}),
        ...(a.connectTimeout !== undefined ? { connectTimeoutMs: a.connectTimeout * 1000 } : {}),
        ...(a.idleTimeout !== undefined ? { idleTimeoutMs: a.idleTimeout * 1000 } : {}),
        ...(a.ca !== undefined ? { ca: a.ca } : {}),
        ...(a.proxy !== undefined ? { proxy: a.proxy === 'none' ? null : a.proxy } : {}),
      },
    };
    let pin = a.sha256;
    if (a.sums !== undefined && a.trustedKeys !== undefined) {
      const keys = parseTrustedKeys(readText(a.trustedKeys), a.trustedKeys);
      const listed = await pinFromSignedSums(createFetch(cfg), a.sums, a.url, keys, ac.signal);
      if (pin !== undefined && pin !== listed.sha256)
        throw new NetError(a.url, `--sha256 ${pin} disagrees with ${a.sums}, which lists ${listed.sha256}`, true);
      pin = listed.sha256;
      process.stderr.write(`${printable(a.sums)}: signature by ${printable(listed.signer)} verified\n`);
    }
    const r = await downloadToMemfd(
      a.url,
      {
        maxBytes: a.maxBytes ?? DEFAULT_MAX,
        ...(pin ? { sha256: pin } : {}),
        signal: ac.signal,
        onProgress: progressPrinter(process.stderr),
      },
      cfg,
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    try {
      if (a.output !== undefined) {
        const out = fs.openSync(a.output, 'w', 0o644);
        try {
          let off = 0;
          const buf = Buffer.alloc(1 << 20);
          for (;;) {
            const n = fs.readSync(r.fd, buf, 0, buf.length, off);
            if (n === 0) break;
            fs.writeSync(out, buf, 0, n);
            off += n;
          }
        } finally {
          fs.closeSync(out);
        }
      }
    } finally {
      fs.closeSync(r.fd);
    }
    process.stdout.write(`${printable(r.url)} ${r.size} ${r.sha256}\n`);
    return 0;
  } catch (e) {
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (e instanceof NetError || e instanceof SumsError) {
      process.stderr.write(`tendril fetch: ${printable(e.message)}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`tendril fetch: ${printable(a.output ?? a.url)}: ${printable(err.code ?? err.message)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSig);
  }
}
