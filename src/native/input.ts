// Typed wrappers over the addon's evdev ioctls (native/src/input.c), for feeding the VM's PS/2
// devices from the host's keyboards and mice (src/vm/host-input.ts). Failures throw a
// SyscallError (code, errno, syscall).

import { loadAddon } from './load';

interface InputAddon {
  evdevGrab(fd: number, on: boolean): void;
  evdevName(fd: number): string;
  evdevBits(fd: number, type: number): Uint8Array;
  evdevAbsInfo(fd: number, axis: number): number[];
}

function input(): InputAddon {
  return loadAddon() as unknown as InputAddon;
}

/** EVIOCGRAB: while grabbed, only `fd` receives the device's events (not the console, not X). */
export function evdevGrab(fd: number, on: boolean): void {
  input().evdevGrab(fd, on);
}

/** EVIOCGNAME: the device's name. */
export function evdevName(fd: number): string {
  return input().evdevName(fd);
}

/** EVIOCGBIT: the capability bitmap for event type `type` (0: which types the device has). */
export function evdevBits(fd: number, type: number): Uint8Array {
  return input().evdevBits(fd, type);
}

/** EVIOCGABS: an absolute axis's range and resolution (units per mm; 0 when unknown). */
export function evdevAbsInfo(fd: number, axis: number): { minimum: number; maximum: number; resolution: number } {
  const [, minimum = 0, maximum = 0, , , resolution = 0] = input().evdevAbsInfo(fd, axis);
  return { minimum, maximum, resolution };
}
