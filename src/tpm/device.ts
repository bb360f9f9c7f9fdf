// The TPM as a character device: the kernel's resource manager /dev/tpmrm0 (Linux
// drivers/char/tpm/tpm-dev-common.c) takes one whole command per write(2) and returns one whole
// response per read(2). Plain fs calls are enough: no ioctl, no native code.

import * as fs from 'node:fs';

export const DEFAULT_TPM_DEVICE = '/dev/tpmrm0';

/** Moves one command to the TPM and its response back. */
export interface Transport {
  /** What failures name: the device path. */
  readonly name: string;
  transmit(cmd: Uint8Array): Uint8Array;
}

/** A failed system call on the device: which one and its errno. */
export class DeviceError extends Error {
  constructor(
    readonly syscall: 'open' | 'write' | 'read',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function sys<T>(syscall: DeviceError['syscall'], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new DeviceError(syscall, code, `${syscall}: ${code}${e instanceof Error ? ` (${e.message})` : ''}`);
  }
}

/** Opens the device per command: nothing stays open across a kexec or a crash. */
export function deviceTransport(path: string = DEFAULT_TPM_DEVICE): Transport {
  return {
    name: path,
    transmit(cmd) {
      const fd = sys('open', () => fs.openSync(path, fs.constants.O_RDWR));
      try {
        const n = sys('write', () => fs.writeSync(fd, cmd, 0, cmd.length));
        if (n !== cmd.length) throw new DeviceError('write', 'EIO', `write: ${n} of ${cmd.length} bytes accepted`);
        const buf = new Uint8Array(8192);
        const got = sys('read', () => fs.readSync(fd, buf, 0, buf.length, null));
        return buf.slice(0, got);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}
