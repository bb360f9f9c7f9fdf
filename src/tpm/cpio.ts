// The event log as one more initrd piece: an uncompressed newc cpio (the kernel's initramfs
// buffer format, docs/kexec.md §2) holding /tendril/tpm-eventlog.bin, appended after the
// measured initrds so the booted OS finds the log in its initramfs.

const field = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function member(name: string, mode: number, data: Uint8Array, ino: number): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'latin1');
  // c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor c_rdevmajor c_rdevminor c_namesize c_check
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const head = Buffer.from('070701' + fields.map(field).join(''), 'latin1');
  return Buffer.concat([
    head,
    nameBytes,
    Buffer.alloc(pad4(head.length + nameBytes.length)),
    Buffer.from(data),
    Buffer.alloc(pad4(data.length)),
  ]);
}

export const LOG_IN_INITRD = 'tendril/tpm-eventlog.bin';

/** `tendril/` and `tendril/tpm-eventlog.bin` (0444), then the trailer. */
export function eventLogCpio(log: Uint8Array): Uint8Array {
  return Buffer.concat([
    member('tendril', 0o040755, new Uint8Array(0), 1),
    member(LOG_IN_INITRD, 0o100444, log, 2),
    member('TRAILER!!!', 0, new Uint8Array(0), 0),
  ]);
}
