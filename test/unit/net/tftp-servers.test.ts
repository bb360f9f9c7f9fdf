// TFTP against real servers in a private network namespace pair: dnsmasq (options, lock-step),
// atftpd (RFC 7440 windowsize), tftpd-hpa refusing blksize (512-byte blocks; a file past 65535
// blocks rolls the block number over), 10 % loss both ways, a missing file, and a small server
// of our own that refuses options with ERROR 8 and injects a packet from a foreign port.
// Every download is the real CLI in the client namespace; identity is checked by sha256.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsPair, SERVER_IP, SERVER_IP6 } from '../../fixtures/netns-pair';

const TFTPD_HPA = '/opt/tendril-tftpd-hpa/usr/sbin/in.tftpd';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// A TFTP server that only speaks plain RFC 1350: it answers an RRQ with options with ERROR 8,
// and in the plain transfer sends a forged block 2 from another port (a foreign transfer ID)
// before the real one, noting whether the client answered it with ERROR 5.
const REFUSER = `
const dgram = require('node:dgram');
const fs = require('node:fs');
const [root, log] = process.argv.slice(2);
const main = dgram.createSocket('udp4');
const note = (s) => fs.appendFileSync(log, s + '\\n');
main.on('message', (m, r) => {
  if (m.readUInt16BE(0) !== 1) return;
  const parts = m.subarray(2).toString('latin1').split('\\0');
  const [file] = parts;
  const tid = dgram.createSocket('udp4');
  tid.bind(0, '${SERVER_IP}', () => {
    if (parts.length > 3 && parts[2] !== '') {
      note('options ' + parts.slice(2, -1).join(','));
      const e = Buffer.concat([Buffer.from([0, 5, 0, 8]), Buffer.from('no options\\0')]);
      return tid.send(e, r.port, r.address, () => tid.close());
    }
    note('plain ' + file);
    const data = fs.readFileSync(root + '/' + file);
    const stray = dgram.createSocket('udp4');
    stray.on('message', (x) => note('stray got ' + x.readUInt16BE(0) + ' ' + x.readUInt16BE(2)));
    stray.bind(0, '${SERVER_IP}');
    let block = 1;
    const send = () => {
      const chunk = data.subarray((block - 1) * 512, block * 512);
      const p = Buffer.alloc(4 + chunk.length);
      p.writeUInt16BE(3, 0); p.writeUInt16BE(block & 0xffff, 2); chunk.copy(p, 4);
      if (block === 2) {
        const forged = Buffer.from(p); forged.fill(0x55, 4);
        stray.send(forged, r.port, r.address);
        setTimeout(() => tid.send(p, r.port, r.address), 200);
      } else tid.send(p, r.port, r.address);
    };
    tid.on('message', (a) => {
      if (a.readUInt16BE(0) !== 4 || a.readUInt16BE(2) !== (block & 0xffff)) return;
      if ((block - 1) * 512 + 512 > data.length) { note('done'); setTimeout(() => (tid.close(), stray.close()), 500); return; }
      block++;
      send();
    });
    send();
  });
});
main.bind(3069, '${SERVER_IP}');
`;

describe('TFTP client against real servers', () => {
  let pair: NetnsPair;
  let root: string;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    pair = new NetnsPair('tftp');
    root = path.join(pair.dir, 'root');
    fs.mkdirSync(path.join(root, 'pxelinux.cfg'), { recursive: true, mode: 0o755 });
    fs.chmodSync(pair.dir, 0o755);
    // 34,000,000 bytes at 512 per block is 66,407 blocks: the block number wraps past 65535.
    for (const [name, size] of [
      ['small.bin', 64 << 10],
      ['mid.bin', (2 << 20) + 123],
      ['big.bin', 34_000_000],
    ] as const) {
      files[name] = randomBytes(size);
      fs.writeFileSync(path.join(root, name), files[name], { mode: 0o644 });
    }
    const d = pair.dir;
    pair.startServer('/usr/sbin/dnsmasq', [
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--port=0',
      '--enable-tftp',
      `--tftp-root=${root}`,
      `--listen-address=${SERVER_IP}`,
      `--listen-address=${SERVER_IP6}`,
      '--bind-interfaces',
      `--pid-file=${d}/dnsmasq.pid`,
      `--log-facility=${d}/dnsmasq.log`,
      '--user=root',
      '--group=root',
    ]);
    pair.startServer('/usr/sbin/atftpd', [
      '--daemon',
      '--no-fork',
      '--port',
      '1069',
      '--bind-address',
      SERVER_IP,
      '--user',
      'root',
      '--group',
      'root',
      '--logfile',
      `${d}/atftpd.log`,
      root,
    ]);
    pair.startServer(TFTPD_HPA, [
      '--foreground',
      '--address',
      `${SERVER_IP}:2069`,
      '--refuse',
      'blksize',
      '-u',
      'root',
      '--secure',
      root,
    ]);
    fs.writeFileSync(path.join(d, 'refuser.js'), REFUSER);
    pair.startServer(process.execPath, [path.join(d, 'refuser.js'), root, path.join(d, 'refuser.log')]);
    for (const port of [69, 1069, 2069, 3069]) await pair.waitListening('udp', port);
  });

  afterAll(() => pair?.close());

  async function fetchOk(url: string, name: string): Promise<string> {
    const r = await pair.cli(['fetch', '--verbose', url]);
    expect(r.stderr + r.stdout).not.toMatch(/tendril fetch:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${url} ${files[name]!.length} ${sha(files[name]!)}\n`);
    return r.stderr;
  }

  it('dnsmasq: negotiates blksize 1468 and tsize and delivers identical bytes', async () => {
    const log = await fetchOk(`tftp://${SERVER_IP}/mid.bin`, 'mid.bin');
    expect(log).toMatch(/accepted blksize 1468, windowsize 1, tsize 2097275/);
    // The progress line reached 100 % on stderr.
    expect(log).toMatch(/mid\.bin \[#+\] 100% /);
  });

  it('dnsmasq over IPv6', async () => {
    await fetchOk(`tftp://[${SERVER_IP6}]/small.bin`, 'small.bin');
  });

  it('atftpd: negotiates an RFC 7440 window and delivers identical bytes', async () => {
    const log = await fetchOk(`tftp://${SERVER_IP}:1069/mid.bin`, 'mid.bin');
    expect(log).toMatch(/accepted blksize 1468, windowsize 16, tsize 2097275/);
  });

  it('tftpd-hpa --refuse blksize: 512-byte blocks across the 16-bit block-number rollover', async () => {
    const log = await fetchOk(`tftp://${SERVER_IP}:2069/big.bin`, 'big.bin');
    expect(log).toMatch(/accepted blksize 512, windowsize 1, tsize 34000000/);
  });

  it('falls back to a plain RRQ after ERROR 8 and answers a foreign transfer ID with ERROR 5', async () => {
    const log = await fetchOk(`tftp://${SERVER_IP}:3069/small.bin`, 'small.bin');
    expect(log).toMatch(/refused the options: TFTP error 8 .*asking again without options/);
    expect(log).toMatch(/sent data without option negotiation: blksize 512, lock-step/);
    // The server notes 'done' when the final ACK reaches it, just after the client exits.
    let server = '';
    for (let i = 0; i < 40 && !/^done$/m.test(server); i++) {
      server = fs.readFileSync(path.join(pair.dir, 'refuser.log'), 'utf8');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(server).toMatch(/^options blksize,1468,tsize,0,windowsize,16$/m);
    expect(server).toMatch(/^plain small\.bin$/m);
    expect(server).toMatch(/^stray got 5 5$/m); // ERROR (opcode 5), code 5 Unknown transfer ID
    expect(server).toMatch(/^done$/m);
  });

  it('enforces --max-bytes against tsize before receiving, and while receiving without tsize', async () => {
    const announced = await pair.cli(['fetch', `tftp://${SERVER_IP}/mid.bin`, '--max-bytes', '1M']);
    expect(announced.code).toBe(1);
    expect(announced.stderr).toContain(
      `tftp://${SERVER_IP}/mid.bin: server announced 2097275 bytes, more than the limit of 1048576 bytes`,
    );
    // The option-refusing server sends no tsize: the limit stops the transfer mid-way.
    const running = await pair.cli(['fetch', `tftp://${SERVER_IP}:3069/small.bin`, '--max-bytes', '10K']);
    expect(running.code).toBe(1);
    expect(running.stderr).toContain(
      `tftp://${SERVER_IP}:3069/small.bin: received 10752 bytes, more than the limit of 10240 bytes`,
    );
  });

  it('a missing file is the named TFTP error, exit 1, no retries', async () => {
    const r = await pair.cli(['fetch', `tftp://${SERVER_IP}/pxelinux.cfg/default`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^tendril fetch: tftp:\/\/192\.0\.2\.1\/pxelinux\.cfg\/default: TFTP error 1 \(File not found\) from 192\.0\.2\.1/m,
    );
    expect(r.stdout).toBe('');
  });

  it('gives up after a bounded number of retransmissions when nothing answers', async () => {
    const r = await pair.cli(['fetch', `tftp://${SERVER_IP}:4069/small.bin`, '--retries', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `tendril fetch: tftp://${SERVER_IP}:4069/small.bin: no answer from ${SERVER_IP} after 3 tries\n`,
    );
  });

  it('10 % packet loss both ways (nft in the server namespace) still gives identical bytes', async () => {
    // Dropped at the veth's netdev hooks: a drop in the ip output hook would fail the server's
    // send() with EPERM instead of losing the packet (tftpd-hpa then ends the transfer).
    const rules = `table netdev loss {
      chain e { type filter hook egress device "vs" priority 0; ip protocol udp numgen random mod 10 == 0 counter drop; }
      chain i { type filter hook ingress device "vs" priority 0; ip protocol udp numgen random mod 10 == 0 counter drop; }
    }`;
    fs.writeFileSync(path.join(pair.dir, 'loss.nft'), rules);
    pair.serverExec('nft', ['-f', path.join(pair.dir, 'loss.nft')]);
    try {
      await fetchOk(`tftp://${SERVER_IP}:1069/mid.bin`, 'mid.bin'); // windowed
      await fetchOk(`tftp://${SERVER_IP}/small.bin`, 'small.bin'); // lock-step
      const counters = pair.serverExec('nft', ['list', 'table', 'netdev', 'loss']);
      const dropped = [...counters.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
      expect(dropped).toHaveLength(2);
      // Both directions lost packets, or this test proved nothing.
      for (const n of dropped) expect(n).toBeGreaterThan(0);
    } finally {
      pair.serverExec('nft', ['delete', 'table', 'netdev', 'loss']);
    }
  }, 180_000);
});
