// NVMe/TCP targets (docs/net-nvme.md): the URL syntax, the option string the kernel's fabrics
// driver is given, its reply, the host identity from the SMBIOS UUID and the dracut words; the
// settings that carry targets (net.nvme, tendril.nvme=); and how a controller's namespaces are
// found in sysfs, with and without native multipath.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { namespaceNames } from '../../../src/net/nvme/connect';
import {
  fabricsOptions,
  handOnWords,
  hostFromUuid,
  nqnProblem,
  nvmeHost,
  parseConnectReply,
  parseNvmeTarget,
} from '../../../src/net/nvme/target';
import { NetError } from '../../../src/net/types';
import { loadSettings } from '../../../src/settings/load';
import { settingsFiles } from '../../fixtures/settings-files';

const NQN = 'nqn.2026-12.org.tendril:disk1';
const UUID = '5e1f0c2a-7d4b-4c11-9a3e-0123456789ab';

describe('parseNvmeTarget', () => {
  it('takes tcp:// and nvme+tcp://, IPv4, bracketed IPv6 and names; the port defaults to 4420', () => {
    expect(parseNvmeTarget(`tcp://10.0.0.1/${NQN}`)).toEqual({
      url: `tcp://10.0.0.1/${NQN}`,
      host: '10.0.0.1',
      port: 4420,
      nqn: NQN,
    });
    expect(parseNvmeTarget(`nvme+tcp://[fd00::1]:4421/${NQN}`)).toMatchObject({
      host: 'fd00::1',
      port: 4421,
      nqn: NQN,
    });
    expect(parseNvmeTarget(`tcp://san.example.com:8009/${NQN}`)).toMatchObject({ host: 'san.example.com', port: 8009 });
    // Percent-encoded NQNs (a URL in a DHCP option or a script) are decoded.
    expect(parseNvmeTarget('tcp://10.0.0.1/nqn.2026-12.org.tendril%3Adisk1').nqn).toBe(NQN);
  });

  it.each([
    ['http://10.0.0.1/' + NQN, /expected tcp:\/\//],
    ['tcp://10.0.0.1/', /expected/],
    ['tcp://10.0.0.1:0/' + NQN, /port 0 is out of range/],
    ['tcp://10.0.0.1:70000/' + NQN, /out of range/],
    ['tcp://10.0.0.1/iqn.2001-04.com.example:disk', /starts with "nqn\."/],
    ['tcp://10.0.0.1/nqn.x,traddr=1.2.3.4', /may not hold ','/],
    ['tcp://10.0.0.1/nqn.a%20b', /starts with "nqn\."|white space/],
    ['tcp://10.0.0.1/nqn.' + 'a'.repeat(300), /longer than 223 bytes/],
    ['tcp://[10.0.0.1]/' + NQN, /not an IPv6 address/],
    ['tcp://bad_host!/' + NQN, /neither an IP address nor a host name/],
  ])('refuses %s', (url, why) => {
    expect(() => parseNvmeTarget(url)).toThrow(NetError);
    expect(() => parseNvmeTarget(url)).toThrow(why);
  });

  it('never throws anything but a NetError, and what it accepts cannot inject kernel options', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.webUrl(),
          fc.string().map((s) => `tcp://10.0.0.1/nqn.${s}`),
        ),
        (s) => {
          try {
            const t = parseNvmeTarget(s);
            expect(nqnProblem(t.nqn)).toBeUndefined();
            const opts = fabricsOptions(t, '10.0.0.1', undefined);
            expect(opts.split(',').filter((w) => w.startsWith('nqn='))).toEqual([`nqn=${t.nqn}`]);
            expect(opts).not.toMatch(/\s/);
          } catch (e) {
            expect(e).toBeInstanceOf(NetError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the kernel interface', () => {
  const t = parseNvmeTarget(`tcp://10.0.0.1:4420/${NQN}`);
  it('writes the options fabrics.c parses, with the host identity and bounded reconnects', () => {
    expect(fabricsOptions(t, '10.0.0.1', hostFromUuid(UUID))).toBe(
      `transport=tcp,traddr=10.0.0.1,trsvcid=4420,nqn=${NQN},hostnqn=nqn.2014-08.org.nvmexpress:uuid:${UUID},hostid=${UUID},ctrl_loss_tmo=10,reconnect_delay=2`,
    );
    expect(fabricsOptions(t, '10.0.0.1', undefined)).not.toMatch(/host/);
    expect(() => fabricsOptions(t, 'san.example.com', undefined)).toThrow(/not an IP address/);
  });

  it('reads instance and cntlid from the reply, nothing else', () => {
    expect(parseConnectReply('instance=3,cntlid=1\n')).toEqual({ instance: 3, cntlid: 1 });
    expect(parseConnectReply('instance=3')).toBeUndefined();
    expect(parseConnectReply('')).toBeUndefined();
  });

  it('derives the host NQN from the SMBIOS UUID, not from a placeholder one; net.nvme-hostnqn wins', () => {
    expect(hostFromUuid(UUID)).toEqual({ hostnqn: `nqn.2014-08.org.nvmexpress:uuid:${UUID}`, hostid: UUID });
    expect(hostFromUuid('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(hostFromUuid('ffffffff-ffff-ffff-ffff-ffffffffffff')).toBeUndefined();
    expect(hostFromUuid(undefined)).toBeUndefined();
    expect(nvmeHost('nqn.2026-12.org.example:host7', UUID)).toEqual({
      hostnqn: 'nqn.2026-12.org.example:host7',
      hostid: UUID,
    });
    expect(nvmeHost('nqn.2026-12.org.example:host7', undefined)).toEqual({ hostnqn: 'nqn.2026-12.org.example:host7' });
  });

  it("hands the OS dracut's words for the same target and identity", () => {
    expect(handOnWords(t, '10.0.0.1', hostFromUuid(UUID))).toEqual([
      'rd.nvmf.discover=tcp,10.0.0.1,,4420',
      `rd.nvmf.hostnqn=nqn.2014-08.org.nvmexpress:uuid:${UUID}`,
      `rd.nvmf.hostid=${UUID}`,
    ]);
  });
});

describe('namespaces in sysfs', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-nvme-sys-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const mk = (...p: string[]) => fs.mkdirSync(path.join(root, ...p), { recursive: true });

  it('direct namespaces, multipath heads of path devices; not partitions, not other controllers', () => {
    mk('nvme', 'nvme1', 'nvme1n1');
    mk('nvme', 'nvme1', 'nvme1n1p1');
    mk('nvme', 'nvme2', 'nvme2c2n1');
    mk('nvme', 'nvme2', 'nvme2c2n3');
    mk('nvme', 'nvme0', 'nvme0n1');
    for (const b of ['nvme0n1', 'nvme1n1', 'nvme1n1p1', 'nvme2n1', 'nvme2n3']) mk('block', b);
    expect(namespaceNames(root, 'nvme1')).toEqual(['nvme1n1']);
    expect(namespaceNames(root, 'nvme2')).toEqual(['nvme2n1', 'nvme2n3']);
    expect(namespaceNames(root, 'nvme9')).toEqual([]);
  });
});

describe('settings: net.nvme, tendril.nvme=, net.nvme-hostnqn', () => {
  const { file: toml } = settingsFiles('nvme-settings');
  it('the file lists targets; each tendril.nvme= adds one', () => {
    const f = toml(`[net]\nnvme = ["tcp://10.0.0.1/${NQN}"]\nnvme-hostnqn = "nqn.2026-12.org.example:host7"\n`);
    const r = loadSettings({ file: f, cmdline: `quiet tendril.nvme=tcp://10.0.0.2:4421/${NQN}` });
    expect(r.problems).toEqual([]);
    expect(r.settings.net.nvme).toEqual([`tcp://10.0.0.1/${NQN}`, `tcp://10.0.0.2:4421/${NQN}`]);
    expect(r.settings.net.nvmeHostnqn).toBe('nqn.2026-12.org.example:host7');
  });

  it.each(['"http://10.0.0.1/x"', '["tcp://10.0.0.1/iqn.x"]', '7', `"tcp://10.0.0.1/${NQN},hostnqn=x"`])(
    'refuses nvme = %s by name and keeps none',
    (v) => {
      const r = loadSettings({ file: toml(`[net]\nnvme = ${v}\n`), cmdline: '' });
      expect(r.settings.net.nvme).toEqual([]);
      expect(r.problems.join('\n')).toMatch(/net\.nvme/);
    },
  );

  it('a bad tendril.nvme= is a problem naming it; the good ones stay', () => {
    const r = loadSettings({ file: toml(''), cmdline: `tendril.nvme=tcp://10.0.0.1/${NQN} tendril.nvme=tcp://x/y` });
    expect(r.settings.net.nvme).toEqual([`tcp://10.0.0.1/${NQN}`]);
    expect(r.problems.join('\n')).toMatch(/nvme/);
  });
});
