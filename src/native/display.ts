// Typed wrappers over the addon's host-screen and dirty-log calls (native/src/display.c): fbdev
// geometry, DRM dumb-buffer mode setting, shared mappings of either, and KVM_GET_DIRTY_LOG.
// Failures throw an Error with `code` (errno name), `errno` and `syscall` (the ioctl's name).
import { loadAddon } from './load';

/** FBIOGET_VSCREENINFO and FBIOGET_FSCREENINFO, as the fbdev driver reports them. */
export interface FbInfo {
  readonly id: string;
  readonly xres: number;
  readonly yres: number;
  readonly xresVirtual: number;
  readonly yresVirtual: number;
  readonly xoffset: number;
  readonly yoffset: number;
  readonly bitsPerPixel: number;
  readonly grayscale: number;
  readonly redOffset: number;
  readonly redLength: number;
  readonly greenOffset: number;
  readonly greenLength: number;
  readonly blueOffset: number;
  readonly blueLength: number;
  readonly lineLength: number;
  readonly smemLen: number;
  readonly visual: number;
  readonly type: number;
}

/** A DRM CRTC showing a dumb buffer (XRGB8888) that drmModeset made. */
export interface DrmScanout {
  readonly width: number;
  readonly height: number;
  readonly pitch: number;
  readonly size: number;
  readonly mapOffset: number;
  readonly handle: number;
  readonly fbId: number;
  readonly crtcId: number;
  readonly connectorId: number;
  /** The CRTC's state before, for drmRestore. */
  readonly saved: Buffer;
}

export interface DisplayConstants {
  readonly memLogDirtyPages: number;
  readonly fbTypePackedPixels: number;
  readonly fbVisualTruecolor: number;
  readonly fbVisualDirectcolor: number;
}

interface DisplayAddon {
  mmapShared(fd: number, length: number, offset: number): ArrayBuffer;
  munmapShared(mem: ArrayBuffer): void;
  displayOpen(path: string): number;
  displayClose(fd: number): void;
  fbInfo(fd: number): FbInfo;
  drmSetMaster(fd: number): void;
  drmDropMaster(fd: number): void;
  drmModeset(fd: number): DrmScanout;
  /** False when the driver has no dirty hook (it scans the buffer out directly). */
  drmDirty(fd: number, fbId: number, y1: number, y2: number): boolean;
  /** The first ioctl that failed, or null. */
  drmRestore(fd: number, saved: Uint8Array, fbId: number, handle: number, connectorId: number): string | null;
  kvmGetDirtyLog(vmFd: number, slot: number, bitmap: ArrayBuffer): void;
  displayConstants(): DisplayConstants;
}

export function displayNative(): DisplayAddon {
  return loadAddon() as unknown as DisplayAddon;
}
