// Network entries in the entry model (docs/net-bootfiles.md §5): the origin of an entry found in
// a config fetched over the network, the FileRef of a URL, and the title shown in the menu.

import type { EntrySource, FileRef, Origin } from '../discovery/model';
import { netFsId, urlToPath } from './netfs';

/** Origin of a network entry: the device is the interface, the file the config's URL. */
export function netOrigin(source: EntrySource, iface: string, url: string, line?: number): Origin {
  return {
    source,
    fsId: netFsId(iface),
    device: iface,
    partition: 0,
    file: url,
    ...(line !== undefined ? { line } : {}),
  };
}

/** The FileRef of a URL on the interface's NetFileSystem; throws NetError when no path can name it. */
export function netRef(iface: string, url: string): FileRef {
  return { fsId: netFsId(iface), path: urlToPath(url) };
}

/** Menu titles say where an entry came from: `PXE: <label> (192.0.2.1)`. */
export function netTitle(kind: 'PXE' | 'iPXE' | 'GRUB' | 'Net', label: string, host: string): string {
  return `${kind}: ${label} (${host})`;
}
