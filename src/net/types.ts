// The shapes the network-boot modules hand each other: what a DHCP exchange (or a manual `ip=`)
// leaves behind, and how boot files are fetched. Protocol modules produce them; the pxelinux and
// iPXE readers and `tendril netboot` consume them, so neither side imports the other.

/** The client identity a DHCP exchange presents (option 60 / 77, docs/netboot.md). */
export type Identity = 'pxe' | 'http' | 'ipxe' | 'tendril';

/** What a lease (DHCPv4, DHCPv6 or manual) configured on one interface. */
export interface Lease {
  readonly iface: string;
  /** Lower-case colon-separated MAC of `iface`. */
  readonly mac: string;
  readonly family: 4 | 6;
  readonly how: 'dhcp' | 'manual' | 'slaac';
  readonly address: string;
  readonly prefixLength: number;
  readonly router?: string;
  /**
   * Routes besides the default one (DHCPv4 option 121, RFC 3442), in the server's order; a
   * gateway of 0.0.0.0 means the destination is on the link.
   */
  readonly routes?: readonly StaticRoute[];
  readonly dns: readonly string[];
  readonly domain?: string;
  readonly hostname?: string;
  readonly ntp: readonly string[];
  readonly mtu?: number;
  /** DHCP server identifier (option 54) or the DHCPv6 server's address. */
  readonly server?: string;
  /** Seconds the lease is valid. */
  readonly leaseSeconds?: number;
  /**
   * Where the boot file comes from, already resolved from option 66/67, `sname`/`file`, `siaddr`
   * and option overload (DHCPv4) or option 59 (DHCPv6): an absolute URL (tftp://, http://,
   * https://), or absent when the server named none.
   */
  readonly bootUrl?: string;
  /** Option 209 (PXELINUX config file) and 210 (path prefix), as sent. */
  readonly pxeConfigFile?: string;
  readonly pxePathPrefix?: string;
  /** The identity the winning exchange used. */
  readonly identity?: Identity;
  /** A PXE boot menu (DHCPv4 option 43) and what boot server discovery found (docs/net-dhcp.md §14). */
  readonly pxeMenu?: PxeMenu;
}

/** A PXE boot menu as a server sent it (PXE 2.1 option 43 sub-options 6–10), with each item's discovery result. */
export interface PxeMenu {
  /** The server that sent the menu (option 54). */
  readonly server: string;
  /** PXE_DISCOVERY_CONTROL (sub-option 6). */
  readonly discoveryControl: number;
  /** PXE_BOOT_SERVERS (8): boot servers by item type. */
  readonly bootServers: readonly { readonly type: number; readonly addresses: readonly string[] }[];
  /** PXE_MENU_PROMPT (10): seconds (255: wait for a key) and text. */
  readonly prompt?: { readonly timeout: number; readonly text: string };
  readonly items: readonly PxeMenuItem[];
  /** Index into items of the one a PXE client boots without user input (absent: local boot). */
  readonly chosen?: number;
}

export interface PxeMenuItem {
  /** Boot server type (0: local boot). */
  readonly type: number;
  readonly description: string;
  /** From discovery (absent until then, or when it failed: see `error`). */
  readonly bootServer?: string;
  readonly bootUrl?: string;
  readonly pxeConfigFile?: string;
  readonly pxePathPrefix?: string;
  readonly error?: string;
}

/** One static route a lease asks for (destination network, prefix length, gateway). */
export interface StaticRoute {
  readonly dest: string;
  readonly prefix: number;
  readonly gateway: string;
}

/** Progress of one transfer, for the menu's and `--plain`'s progress line. */
export interface TransferProgress {
  readonly url: string;
  readonly done: number;
  /** Expected total, when the server said (Content-Length, TFTP tsize). */
  readonly total?: number;
  readonly elapsedMs: number;
}

export interface FetchOptions {
  /** Refuse a file larger than this (checked against the announced size and while receiving). */
  readonly maxBytes: number;
  /** Lower-case hex SHA-256 the bytes must have; a mismatch is a NetError naming both. */
  readonly sha256?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TransferProgress) => void;
  /** An http:// proxy for this file over the configured one (PXELINUX `PROXY`); no_proxy still applies. */
  readonly proxy?: string;
}

export interface Fetched {
  /** The URL the bytes came from, after redirects. */
  readonly url: string;
  readonly bytes: Uint8Array;
  /** Lower-case hex SHA-256 of `bytes`. */
  readonly sha256: string;
}

/** Fetches one whole file by URL (tftp, http, https); rejects with NetError. */
export type Fetch = (url: string, opts: FetchOptions) => Promise<Fetched>;

/**
 * A network failure that names what failed: the URL or interface, and the reason in words a
 * firmware engineer can act on ("no DHCP offer on enp1s0 after 4 tries", "TFTP error 1 (File not
 * found) from 192.0.2.1 for pxelinux.cfg/default").
 */
export class NetError extends Error {
  constructor(
    /** The URL, interface or host the failure is about. */
    readonly subject: string,
    readonly reason: string,
    /** Retrying cannot help (404, TFTP file not found, a certificate error, a hash mismatch). */
    readonly permanent = false,
    /** The server answered that the file is not there (HTTP 404/410, TFTP error 1): a lookup moves on. */
    readonly notFound = false,
  ) {
    super(`${subject}: ${reason}`);
    this.name = 'NetError';
  }
}
