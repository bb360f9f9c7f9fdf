// Did the firmware start the loader tendril chose? OVMF's boot manager reports every attempt on
// the console (OvmfPkg/Library/PlatformBmPrintScLib/StatusCodeHandler.c at edk2-stable202211):
//   BdsDxe: loading Boot0000 "<description>" from <device path>
//   BdsDxe: failed to load Boot0000 "<description>" from <device path>: <EFI_STATUS text>
//   BdsDxe: failed to start Boot0000 ... : <status>
// A refused image (Secure Boot: "Access Denied" / "Security Violation") or a loader that returns
// an error is a failed boot of the chosen entry; watching the console is how tendril learns it
// without a debug channel. The scan runs on whole console chunks, not per byte.

const MAX_LINE = 2048;

export class BootWatch {
  private tail = '';
  private readonly pattern: RegExp;

  /** `option`: the Boot#### tendril generated, e.g. "Boot0000". */
  constructor(option: string) {
    this.pattern = new RegExp(`BdsDxe: failed to (?:load|start) ${option} "[^"\\r\\n]*" from [^\\r\\n]*: [^\\r\\n]+`);
  }

  /** Feeds console output; returns the failure line once one is complete, else null. */
  feed(chunk: Uint8Array): string | null {
    const text = this.tail + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    const lastEol = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    const complete = lastEol < 0 ? '' : text.slice(0, lastEol + 1);
    this.tail = (lastEol < 0 ? text : text.slice(lastEol + 1)).slice(-MAX_LINE);
    if (!complete.includes('BdsDxe: failed to ')) return null;
    // Strip the terminal's escape sequences (OVMF colours its console) before matching.
    const m = this.pattern.exec(complete.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''));
    return m ? m[0].trim() : null;
  }
}
