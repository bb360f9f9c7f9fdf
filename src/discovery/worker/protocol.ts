// Messages between the main thread and scan workers. Each worker owns the devices it
// scanned (their fds and filesystem readers); the main thread reaches files through
// RemoteFileSystem proxies, so a disk that hangs in a read stalls only its worker. A scan
// streams what it finds (partial messages) before its reply, and shares a progress buffer
// (progress.ts) that the main thread reads when the deadline passes and through which it
// calls a slow scan off.

import type { LocalResult } from '../local';
import type { DeviceInfo, DeviceReport } from '../model';
import type { EfiArch } from '../sources/context';

export const WORKER_ROLE = 'tendril-scan-worker';

export interface FsMeta {
  readonly fsId: string;
  readonly type: string;
  readonly caseInsensitive: boolean;
}

export type Request =
  | {
      readonly id: number;
      readonly op: 'scan';
      readonly info: DeviceInfo;
      readonly arch: EfiArch;
      readonly local: boolean;
      readonly originUrl?: string;
      /** ScanProgress's buffer, written as the scan reads. */
      readonly progress: SharedArrayBuffer;
    }
  | {
      readonly id: number;
      readonly op: 'stat' | 'lstat' | 'readdir' | 'open';
      readonly fsId: string;
      readonly path: string;
      /** readdir: at most this many entries (ReaddirOptions.limit). */
      readonly limit?: number;
    }
  | {
      readonly id: number;
      readonly op: 'read';
      readonly handle: number;
      readonly position: number;
      readonly length: number;
    }
  | { readonly id: number; readonly op: 'closeHandle'; readonly handle: number }
  | { readonly id: number; readonly op: 'closeAll' };

/** A request before the client numbers it (Omit over each member of the union). */
export type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export interface ScanReply {
  readonly report: DeviceReport;
  readonly filesystems: FsMeta[];
  /** What the local sources found on this device (when asked). */
  readonly local?: LocalResult;
}

/** Found during a scan, before its reply: kept if the deadline passes first. */
export type ScanPartial =
  /** The device report so far (table, filesystems, diagnostics) and its readable filesystems. */
  | { readonly kind: 'report'; readonly report: DeviceReport; readonly filesystems: FsMeta[] }
  /** A finished part of the local sources (one entry directory, loader.conf). */
  | { readonly kind: 'local'; readonly part: LocalResult };

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly path?: string;
}

export type Response =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly id: number; readonly partial: ScanPartial };
