// Label and UUID text helpers shared by the probes. They mirror libblkid: a label is the
// bytes up to the first NUL with trailing whitespace removed, and an empty label is absent.

import { u16be, u16le, u8 } from '../../util/bytes';

const WS = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/** Bytes of a fixed-size field up to the first NUL, trailing C-isspace trimmed. */
export function fieldBytes(buf: Uint8Array, off: number, len: number): Uint8Array {
  let end = off;
  const max = Math.min(off + len, buf.length);
  while (end < max && buf[end] !== 0) end++;
  while (end > off && WS.has(u8(buf, end - 1))) end--;
  return buf.subarray(off, end);
}

const utf8 = new TextDecoder('utf-8');

/** A byte label (ext, xfs, btrfs, swap, LUKS) decoded as UTF-8; undefined if empty. */
export function utf8Label(buf: Uint8Array, off: number, len: number): string | undefined {
  const b = fieldBytes(buf, off, len);
  return b.length ? utf8.decode(b) : undefined;
}

// IBM code page 850: the default of mkfs.fat (dosfstools) for short names and labels.
const CP850_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐' +
  '└┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈıÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u00ad±‗¾¶§÷¸°¨·¹³²■\u00a0';

/** An 8-bit OEM label (FAT) decoded as code page 850; undefined if empty. */
export function oemLabel(bytes: Uint8Array): string | undefined {
  let s = '';
  for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : CP850_HIGH.charAt(b - 0x80);
  return s.length ? s : undefined;
}

/** UTF-16 label (ISO Joliet BE, NTFS/exFAT/f2fs LE): stops at U+0000, trailing spaces trimmed. */
export function utf16Label(buf: Uint8Array, off: number, byteLen: number, bigEndian: boolean): string | undefined {
  const units: number[] = [];
  const end = Math.min(off + byteLen, buf.length);
  for (let i = off; i + 1 < end; i += 2) {
    const u = bigEndian ? u16be(buf, i) : u16le(buf, i);
    if (u === 0) break;
    units.push(u);
  }
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  // Lone surrogates become U+FFFD, as libblkid's UTF-8 conversion would not emit them either.
  s = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  s = s.replace(/[ \t\n\v\f\r]+$/, '');
  return s.length ? s : undefined;
}

export function hex(buf: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const b = u8(buf, off + i);
    s += b.toString(16).padStart(2, '0');
  }
  return s;
}

export function startsWith(buf: Uint8Array, off: number, ascii: string): boolean {
  if (off < 0 || off + ascii.length > buf.length) return false;
  for (let i = 0; i < ascii.length; i++) if (buf[off + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
