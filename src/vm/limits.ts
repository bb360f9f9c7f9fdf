// vCPU counts the VMM supports: the MADT, fw_cfg's CPU count and the AP threads are sized for at
// most MAX_CPUS; a full OS gets DEFAULT_CPUS unless the user or the settings ([vm] cpus) say otherwise.
export const MAX_CPUS = 8;
export const DEFAULT_CPUS = 2;
