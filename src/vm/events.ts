// Termination requests raised by devices and handled by the run loop after the current exit.

export type VmEventKind = 'poweroff' | 'reset';

export class VmEvents {
  pending: VmEventKind | null = null;
  reason = '';
  request(kind: VmEventKind, reason: string): void {
    // Power-off wins over reset if both arrive in one exit.
    if (this.pending === 'poweroff') return;
    this.pending = kind;
    this.reason = reason;
  }
}
