// A throw-away PKI made with openssl for the https tests: a P-256 CA, a leaf for IP:192.0.2.1,
// an expired leaf from the same CA (openssl ca with explicit dates: `x509 -days` cannot go back
// in time in openssl 3.0), and an unrelated CA for the wrong-CA case.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Pki {
  readonly caPem: string;
  readonly otherCaPem: string;
  readonly leafCert: string;
  readonly leafKey: string;
  readonly expiredCert: string;
  readonly expiredKey: string;
  readonly futureCert: string;
  readonly futureKey: string;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  ]);
}

export function makePki(parent: string, ip: string): Pki {
  const dir = path.join(parent, 'pki');
  fs.mkdirSync(path.join(dir, 'newcerts'), { recursive: true });
  makeCa(dir, 'test-ca');
  makeCa(dir, 'other-ca');
  fs.writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\n`);
  for (const name of ['leaf', 'expired', 'future'])
    openssl(dir, [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${ip}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'test-ca.pem',
    '-CAkey',
    'test-ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'leaf.pem',
  ]);
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), '1000\n');
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca = d\n[d]\ndir = ${dir}\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}/newcerts\n` +
      `serial = ${dir}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = none\n[p]\ncommonName = supplied\n` +
      `[ext]\nsubjectAltName = IP:${ip}\nbasicConstraints = CA:FALSE\n`,
  );
  // Not valid yet: from 2090 on, as after a clock reset to an earlier date.
  for (const [name, start, end] of [
    ['expired', '20200101000000Z', '20200201000000Z'],
    ['future', '20900101000000Z', '20900201000000Z'],
  ] as const)
    openssl(dir, [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-cert',
      'test-ca.pem',
      '-keyfile',
      'test-ca.key',
      '-extensions',
      'ext',
      '-startdate',
      start,
      '-enddate',
      end,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
      '-notext',
    ]);
  const p = (f: string): string => path.join(dir, f);
  return {
    caPem: p('test-ca.pem'),
    otherCaPem: p('other-ca.pem'),
    leafCert: p('leaf.pem'),
    leafKey: p('leaf.key'),
    expiredCert: p('expired.pem'),
    expiredKey: p('expired.key'),
    futureCert: p('future.pem'),
    futureKey: p('future.key'),
  };
}
