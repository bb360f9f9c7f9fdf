// The host's own screen as the VM display's output (docs/vmm-platform.md §15.1): a Linux fbdev
// (/dev/fbN: efifb or coreboot's framebuffer, or a DRM driver's fbdev emulation) mapped as it is,
// or a DRM card (/dev/dri/cardN) where tendril becomes DRM master and scans out a dumb buffer on
// the first connected connector's preferred mode. Opened on the display thread (host-thread.ts),
// which owns it for the whole run.
import * as fs from 'node:fs';
import { displayNative, type DrmScanout } from '../../native/display';
import { XRGB8888, fbPixelFormat, type HostSurface, type PixelFormat } from './blit';

/** `auto`, `none`, or a device path. */
export type DisplayOutputSpec = string;

export interface HostScreen {
  readonly device: string;
  /** For messages: "fbdev bochsdrmfb, 1024x768, 32 bpp (red 8@16 …)". */
  readonly description: string;
  readonly surface: HostSurface;
  /** Tells the device rows [y0, y1) changed (DRM drivers that need DIRTYFB). */
  flush(y0: number, y1: number): void;
  /** Unmaps; on DRM restores the CRTC it found and drops master. */
  close(): void;
}

const DRM_CARD = /^card\d+$/;

/** The DRM cards (by path) with a connector whose sysfs status is "connected", in card order. */
export function connectedDrmCards(sys = '/sys/class/drm', dev = '/dev/dri'): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(sys);
  } catch {
    return [];
  }
  const cards = names.filter((n) => DRM_CARD.test(n)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  return cards
    .filter((card) =>
      names.some((n) => {
        if (!n.startsWith(`${card}-`)) return false;
        try {
          return fs.readFileSync(`${sys}/${n}/status`, 'utf8').trim() === 'connected';
        } catch {
          return false;
        }
      }),
    )
    .map((card) => `${dev}/${card}`);
}

/**
 * The device `spec` names: null for `none`; for `auto` /dev/fb0 when it exists, else the first DRM
 * card with a connected connector, else null.
 */
export function resolveDisplayOutput(spec: DisplayOutputSpec): string | null {
  if (spec === 'none') return null;
  if (spec !== 'auto') return spec;
  if (fs.existsSync('/dev/fb0')) return '/dev/fb0';
  return connectedDrmCards()[0] ?? null;
}

function describeFormat(f: PixelFormat): string {
  const c = (n: string, ch: { offset: number; length: number }) => `${n} ${ch.length}@${ch.offset}`;
  return `${f.bytesPerPixel * 8} bpp (${c('red', f.red)} ${c('green', f.green)} ${c('blue', f.blue)})`;
}

function isDrm(device: string): boolean {
  return device.includes('/dri/');
}

/** Opens `device` (an fbdev or a DRM card) for drawing; errors name the device. */
export function openHostScreen(device: string): HostScreen {
  return isDrm(device) ? openDrm(device) : openFbdev(device);
}

function openFbdev(device: string): HostScreen {
  const n = displayNative();
  const c = n.displayConstants();
  let fd = -1;
  try {
    fd = n.displayOpen(device);
    const v = n.fbInfo(fd);
    if (v.type !== c.fbTypePackedPixels || (v.visual !== c.fbVisualTruecolor && v.visual !== c.fbVisualDirectcolor))
      throw new Error(`${device}: not a packed true-colour framebuffer (type ${v.type}, visual ${v.visual})`);
    const format = fbPixelFormat(device, v);
    const offset = v.yoffset * v.lineLength + v.xoffset * format.bytesPerPixel;
    const need = offset + v.yres * v.lineLength;
    if (v.xres === 0 || v.yres === 0 || v.lineLength < v.xres * format.bytesPerPixel || need > v.smemLen)
      throw new Error(
        `${device}: inconsistent geometry (${v.xres}x${v.yres}, ${v.lineLength} bytes per line, ${v.smemLen} bytes)`,
      );
    const length = Math.ceil(v.smemLen / 4096) * 4096;
    const mem = n.mmapShared(fd, length, 0);
    const surface: HostSurface = {
      mem: new Uint8Array(mem, offset, v.yres * v.lineLength),
      stride: v.lineLength,
      width: v.xres,
      height: v.yres,
      format,
    };
    const owned = fd;
    return {
      device,
      description: `fbdev "${v.id}", ${v.xres}x${v.yres}, ${describeFormat(format)}`,
      surface,
      flush: () => {},
      close: () => {
        // The framebuffer keeps the last picture; the console redraws it when it is used again.
        n.munmapShared(mem);
        n.displayClose(owned);
      },
    };
  } catch (e) {
    if (fd >= 0) n.displayClose(fd);
    throw annotate(e, device);
  }
}

function openDrm(device: string): HostScreen {
  const n = displayNative();
  let fd = -1;
  let scan: DrmScanout | null = null;
  try {
    fd = n.displayOpen(device);
    try {
      n.drmSetMaster(fd);
    } catch (e) {
      throw new Error(`${device}: cannot become DRM master (${(e as Error).message}); is a display server using it?`);
    }
    scan = n.drmModeset(fd);
    const mem = n.mmapShared(fd, scan.size, scan.mapOffset);
    const s = scan;
    const owned = fd;
    let dirtyHook = true;
    return {
      device,
      description: `DRM connector ${s.connectorId} on CRTC ${s.crtcId}, ${s.width}x${s.height}, ${describeFormat(XRGB8888)}`,
      surface: { mem: new Uint8Array(mem), stride: s.pitch, width: s.width, height: s.height, format: XRGB8888 },
      flush: (y0, y1) => {
        if (dirtyHook) dirtyHook = n.drmDirty(owned, s.fbId, y0, y1);
      },
      close: () => {
        n.munmapShared(mem);
        const failed = n.drmRestore(owned, s.saved, s.fbId, s.handle, s.connectorId);
        if (failed) process.stderr.write(`tendril vm: ${device}: restoring the screen: ${failed} failed\n`);
        try {
          n.drmDropMaster(owned);
        } catch {
          // Closing the file drops it too.
        }
        n.displayClose(owned);
      },
    };
  } catch (e) {
    if (fd >= 0) {
      if (scan) n.drmRestore(fd, scan.saved, scan.fbId, scan.handle, scan.connectorId);
      n.displayClose(fd);
    }
    throw annotate(e, device);
  }
}

function annotate(e: unknown, device: string): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  if (!err.message.includes(device)) err.message = `${device}: ${err.message}`;
  return err;
}
