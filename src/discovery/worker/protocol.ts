// Messages between the main thread and scan workers. Each worker owns the devices it
// scanned (their fds and filesystem readers); the main thread reaches files through
// RemoteFileSystem proxies, so a disk that hangs in a read stalls only its worker.

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

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly path?: string;
}

export type Response =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };
