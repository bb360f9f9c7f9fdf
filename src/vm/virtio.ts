// The contract between the virtio PCI transport (virtio-pci.ts) and a device behind it
// (virtio-blk.ts now; virtio-net and others later), after virtio 1.2 §2 and §4.1: the transport
// owns the PCI function, feature negotiation, device status, the queues' registers and the
// interrupts; the device owns its feature bits, its configuration space and what a request
// means.
import type { GuestMemory } from './memory';
import type { QueueConfig } from './virtqueue';

export const VIRTIO_F_VERSION_1 = 32;

export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

/** What a device gets when the driver sets DRIVER_OK. */
export interface VirtioActivation {
  readonly mem: GuestMemory;
  /** The queues as the driver configured them (index = queue number). */
  readonly queues: readonly QueueConfig[];
  /** Negotiated features. */
  readonly features: bigint;
  /** Tell the driver that queue `q` has used buffers (MSI-X vector or INTx + ISR bit 0). */
  readonly signal: (q: number) => void;
  /** The driver's structures are unusable (rings outside RAM): set DEVICE_NEEDS_RESET. */
  readonly needsReset: () => void;
  /** What another thread needs to interrupt for queue q itself (KVM machines only). */
  readonly remoteIrq?: RemoteIrq;
}

/** Interrupting from another thread: the shared state, each queue's vector, the vectors' irqfds,
 *  and the INTx line (KVM_IRQ_LINE on the VM fd) for when MSI-X is off. */
export interface RemoteIrq {
  readonly state: SharedArrayBuffer;
  readonly queueVectors: readonly number[];
  readonly vectorFds: readonly number[];
  readonly vmFd: number;
  readonly intxGsi: number;
}

/** Flag in InterruptState: the I/O thread found the rings unusable. */
export const IRQ_FLAG_NEEDS_RESET = 1;

export interface VirtioDevice {
  /** Virtio device ID (virtio 1.2 §5): 1 network, 2 block. PCI device ID = 0x1040 + type. */
  readonly type: number;
  /** PCI class code (base << 16 | sub << 8 | prog-if). */
  readonly classCode: number;
  /** Device-specific feature bits offered (the transport adds VIRTIO_F_VERSION_1). */
  readonly features: bigint;
  /** Largest size of each queue; the number of queues is its length. */
  readonly queueMaxSizes: readonly number[];
  /** Bytes of device configuration space. */
  readonly configSize: number;
  readConfig(offset: number, size: number): number;
  writeConfig(offset: number, size: number, value: number): void;
  /** The driver set DRIVER_OK; the device may now use the queues. */
  activate(a: VirtioActivation): void;
  /** The driver notified queue `q` (a write to its notify address). */
  notify(q: number): void;
  /** Device reset (status 0, or a guest reset): stop touching guest memory, forget the queues. */
  reset(): void;
  /** The eventfd a notify of queue q should signal in the kernel (ioeventfd), when the device
   *  serves its queues on another thread; undefined or null: notifies come through notify(). */
  notifyFd?(q: number): number | null;
}
