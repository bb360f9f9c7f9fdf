#!/bin/sh
# /etc/tendril/hotplug: the program busybox `uevent` runs for each kernel uevent once /init's
# coldplug is done (initramfs/init.sh): the driver for a device plugged in later, by its
# modalias, as the coldplug matched the ones present at boot.
[ "$ACTION" = add ] && [ -n "$MODALIAS" ] && exec modprobe -q "$MODALIAS"
exit 0
