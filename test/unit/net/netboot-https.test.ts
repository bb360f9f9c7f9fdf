// `tendril netboot` whole, against real servers in a private namespace pair: dnsmasq hands out a
// lease whose boot file is an https:// iPXE script on nginx (test CA); the script names a kernel
// and an initrd over https. With the owner's CA (net.ca in tendril.toml) the dry run plans the
// script's kernel with the served bytes' sha256 and the script's command line; with another CA
// nothing is planned and the reason names the certificate check and the URL.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { serveHttpsNetboot } from '../../fixtures/https-netboot';
import { type Pki } from '../../fixtures/pki';
import { NetnsPair, SERVER_IP } from '../../fixtures/netns-pair';

let pair: NetnsPair;
let pki: Pki;
let kernel: Buffer;
const initrd = Buffer.from('070701'.padEnd(512, '0'));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const SCRIPT = `#!ipxe
echo booting from \${next-server}
kernel https://${SERVER_IP}/vmlinuz tendril.test=https-ipxe mac=\${net0/mac:hexhyp}
initrd initrd.img
boot
`;

let settingsFiles = 0;
function settings(ca: string, extra = ''): string {
  const f = path.join(pair.dir, `settings-${settingsFiles++}.toml`);
  fs.writeFileSync(f, `[net]\nca = "${ca}"\ntimeout = 30\n${extra}`);
  return f;
}

const KERNEL_URL = `https://${SERVER_IP}/vmlinuz`;
const INITRD_URL = `https://${SERVER_IP}/initrd.img`;
const pins = (p: Record<string, string>): string =>
  `[net.pins]\n${Object.entries(p)
    .map(([u, h]) => `"${u}" = "${h}"`)
    .join('\n')}\n`;

beforeAll(async () => {
  pair = new NetnsPair('nbhttps');
  kernel = fs.readFileSync(hostKernel().vmlinuz);
  ({ pki } = await serveHttpsNetboot(pair, { vmlinuz: kernel, 'initrd.img': initrd, 'boot.ipxe': SCRIPT }));
});

afterAll(() => pair?.close());

describe('tendril netboot: DHCP → https iPXE script → kernel plan, trusting only the configured CA', () => {
  it("with the owner's CA: the dry run plans the script's kernel and initrd with their sha256", async () => {
    const r = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: settings(pki.caPem) });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`vc: 192\\.0\\.2\\.1\\d\\d/24 .*boot https://${SERVER_IP.replace(/\./g, '\\.')}/boot\\.ipxe`),
    );
    expect(r.stdout).toContain(sha(kernel));
    expect(r.stdout).toContain(sha(initrd));
    expect(r.stdout).toContain('tendril.test=https-ipxe');
    // ${net0/mac:hexhyp} expanded from the NIC the lease came on.
    expect(r.stdout).toMatch(/mac=[0-9a-f]{2}(-[0-9a-f]{2}){5}/);
  });

  it('with another CA: nothing is planned, and the reason names the certificate and the URL', async () => {
    const r = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: settings(pki.otherCaPem) });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(sha(kernel));
    expect(r.stderr).toContain(`https://${SERVER_IP}/boot.ipxe`);
    expect(r.stderr).toMatch(/certificate|CA bundle/i);
  });

  it('a served initrd one byte off its pin is refused, naming the URL, the pinned and the served sha256', async () => {
    const www = path.join(pair.dir, 'www');
    const flipped = Buffer.from(initrd);
    flipped[100]! ^= 0x01;
    fs.writeFileSync(path.join(www, 'initrd.img'), flipped);
    try {
      const f = settings(pki.caPem, pins({ [KERNEL_URL]: sha(kernel), [INITRD_URL]: sha(initrd) }));
      const r = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: f });
      if (process.env.SHOW) console.error(r.stdout, r.stderr);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(INITRD_URL);
      expect(r.stderr).toContain(sha(initrd));
      expect(r.stderr).toContain(sha(flipped));
      expect(r.stderr).toContain('no entry could be booted');
    } finally {
      fs.writeFileSync(path.join(www, 'initrd.img'), initrd);
    }
  });

  it('with net.require-verified, a pinned kernel and an initrd without a pin: refused, naming the initrd', async () => {
    const f = settings(pki.caPem, `require-verified = true\n${pins({ [KERNEL_URL]: sha(kernel) })}`);
    const r = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: f });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${INITRD_URL}: not verified: no sha256 pin vouches for it`);
    // Both pinned: it plans.
    const ok = settings(
      pki.caPem,
      `require-verified = true\n${pins({ [KERNEL_URL]: sha(kernel), [INITRD_URL]: sha(initrd) })}`,
    );
    const r2 = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: ok });
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain(sha(initrd));
  });
});
