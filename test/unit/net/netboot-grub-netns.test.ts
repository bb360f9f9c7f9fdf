// GRUB network configs (docs/net-bootfiles.md §6) against real servers in a private namespace
// pair: dnsmasq hands out a fixed address (192.0.2.123 = C000027B) and the boot file
// grubx64.efi (a PE with a GRUB `mods` section whose prefix is empty, so configs are looked up in
// the boot file's directory) over its own TFTP server; nginx serves the initrds. The client is
// the real CLI (`tendril netboot --json`). What it proves: grub.cfg-01-<mac> wins over the hex-IP
// name, which wins over grub.cfg; a `source`d file and `(tftp)`/`(http,host)` files resolve to
// tftp:// and http:// URLs on the server; a malformed config is reported with its URL and line.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRUB_MODULE_TYPES } from '../../../src/net/grub-image';
import { pathToUrl } from '../../../src/net/netfs';
import { NetnsPair, SERVER_IP } from '../../fixtures/netns-pair';
import { buildPe } from '../../fixtures/uki';

const ADDR = '192.0.2.123';
const HEX = 'C000027B';
let pair: NetnsPair;
let root: string;
let mac = '';

/** A `mods` section (64-bit layout) with an empty prefix, as `grub-mkimage -p ''` writes it. */
function mods(): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(GRUB_MODULE_TYPES.prefix, 0);
  h.writeUInt32LE(16, 4);
  const info = Buffer.alloc(24);
  info.writeUInt32LE(0x676d696d, 0);
  info.writeBigUInt64LE(24n, 8);
  info.writeBigUInt64LE(40n, 16);
  return Buffer.concat([info, h]);
}

interface Json {
  entries: {
    id: string;
    title: string;
    file: string;
    target?: { kernel: { path: string }; initrds: { path: string }[]; cmdline: string };
    reason?: string;
  }[];
  diagnostics: { severity: string; message: string; file?: string; line?: number }[];
}

async function list(): Promise<Json> {
  const f = path.join(pair.dir, 'settings.toml');
  fs.writeFileSync(f, '[net]\ntimeout = 30\n');
  const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--json'], { TENDRIL_SETTINGS: f });
  if (process.env.SHOW) console.error(r.stdout, r.stderr);
  try {
    return JSON.parse(r.stdout) as Json;
  } catch {
    throw new Error(`netboot printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

const menu = (tag: string) =>
  `set timeout=3\nsource (tftp)/grub/common-${tag}.cfg\n` +
  `menuentry "${tag} install" --id ${tag} {\n  linux (tftp)/vmlinuz tag=${tag} mac=$net_default_mac\n  initrd (http,${SERVER_IP})/initrd.img\n}\n`;

function serve(files: Record<string, string | null>): void {
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(root, name);
    if (text === null) fs.rmSync(p, { force: true });
    else fs.writeFileSync(p, text);
  }
}

beforeAll(async () => {
  pair = new NetnsPair('grubnet');
  const d = pair.dir;
  root = path.join(d, 'srv');
  fs.mkdirSync(path.join(root, 'grub'), { recursive: true });
  fs.copyFileSync(buildPe([{ name: 'mods', data: mods() }]), path.join(root, 'grubx64.efi'));
  // Over the config limit (1 MiB): listing checks it is there with one aborted TFTP transfer.
  fs.writeFileSync(path.join(root, 'vmlinuz'), Buffer.alloc(3 << 20));
  fs.writeFileSync(path.join(root, 'initrd.img'), Buffer.from('070701'.padEnd(512, '0')));
  for (const tag of ['mac', 'ip', 'plain'])
    fs.writeFileSync(
      path.join(root, 'grub', `common-${tag}.cfg`),
      `menuentry "${tag} rescue" {\n  linux /vmlinuz rescue from=${tag}\n}\n`,
    );
  mac = pair.clientMac();
  await pair.startNginx(root);
  await pair.startDnsmasq([
    `--dhcp-host=${mac},${ADDR}`,
    `--dhcp-boot=grubx64.efi,,${SERVER_IP}`,
    '--enable-tftp',
    `--tftp-root=${root}`,
  ]);
  await pair.waitListening('udp', 69);
}, 120_000);

afterAll(() => pair?.close());

const macName = () => `grub.cfg-01-${mac.replace(/:/g, '-')}`;
const byTitle = (j: Json) => new Map(j.entries.map((e) => [e.title.replace(/ \(192\.0\.2\.1\)$/, ''), e]));

describe('GRUB network configs over dnsmasq TFTP and nginx', () => {
  it('grub.cfg-01-<mac> wins; its sourced file and (tftp)/(http,host) files are URLs on the server', async () => {
    serve({ [macName()]: menu('mac'), [`grub.cfg-${HEX}`]: menu('ip'), 'grub.cfg': menu('plain') });
    const j = await list();
    const t = byTitle(j);
    expect([...t.keys()]).toEqual(['GRUB: mac rescue', 'GRUB: mac install']);
    const install = t.get('GRUB: mac install')!;
    expect(install.file).toBe(`tftp://${SERVER_IP}/${macName()}`);
    expect(pathToUrl(install.target!.kernel.path)).toBe(`tftp://${SERVER_IP}/vmlinuz`);
    expect(install.target!.initrds.map((i) => pathToUrl(i.path))).toEqual([`http://${SERVER_IP}/initrd.img`]);
    expect(install.target!.cmdline).toBe(`tag=mac mac=${mac}`);
    const rescue = t.get('GRUB: mac rescue')!;
    expect(rescue.file).toBe(`tftp://${SERVER_IP}/grub/common-mac.cfg`);
    expect(pathToUrl(rescue.target!.kernel.path)).toBe(`tftp://${SERVER_IP}/vmlinuz`);
    expect(j.diagnostics.map((d) => d.message)).toContain(`config tftp://${SERVER_IP}/${macName()} (tried 1)`);
  });

  it('without the MAC file the hex-IP one wins over grub.cfg', async () => {
    serve({ [macName()]: null, [`grub.cfg-${HEX}`]: menu('ip'), 'grub.cfg': menu('plain') });
    const j = await list();
    expect([...byTitle(j).keys()]).toEqual(['GRUB: ip rescue', 'GRUB: ip install']);
    expect(j.diagnostics.map((d) => d.message)).toContain(`config tftp://${SERVER_IP}/grub.cfg-${HEX} (tried 2)`);
  });

  it('only grub.cfg: found after every other name was tried', async () => {
    serve({ [macName()]: null, [`grub.cfg-${HEX}`]: null, 'grub.cfg': menu('plain') });
    const j = await list();
    expect([...byTitle(j).keys()]).toEqual(['GRUB: plain rescue', 'GRUB: plain install']);
    expect(j.diagnostics.map((d) => d.message)).toContain(`config tftp://${SERVER_IP}/grub.cfg (tried 10)`);
  });

  it('a malformed config: the error names its URL and line, the entries before it stay', async () => {
    serve({
      'grub.cfg':
        'menuentry "fine" {\n  linux (tftp)/vmlinuz ok\n}\nsource (tftp)/grub/absent.cfg\nif [ -n "$net_default_mac" ]; then\n  echo unterminated\n',
    });
    const j = await list();
    expect([...byTitle(j).keys()]).toEqual(['GRUB: fine']);
    const parse = j.diagnostics.find((d) => /parse error/.test(d.message));
    expect(parse).toMatchObject({ file: `tftp://${SERVER_IP}/grub.cfg` });
    expect(parse?.line).toBeGreaterThanOrEqual(5);
  });
});
