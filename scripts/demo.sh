#!/usr/bin/env bash
# The main job: builds tendril, its initramfs and two demo disks (a Fedora-style ESP +
# XBOOTLDR with BLS entries, a Debian-style disk with an ESP grub stub and grub.cfg), then
# boots Debian's kernel with the tendril initramfs in QEMU with the menu on this terminal.
# Choose an entry (arrows, Enter; `e` edits its command line): tendril kexecs Debian's kernel,
# whose tiny initramfs prints the command line it received and powers off. The UEFI-only entry
# (Debian's kernel as an EFI program) goes to tendril's VM where KVM can run firmware.
# Quit QEMU any time with Ctrl-A X. `--list` only prints what tendril finds on the disks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
declare -a disks=()
kernel='' initrd=''
while IFS='=' read -r k v; do
  case "$k" in
    KERNEL) kernel=$v ;;
    INITRD) initrd=$v ;;
    DISK) disks+=("$v") ;;
  esac
done < <(node scripts/run-ts.mjs test/fixtures/demo-boot.ts)

if [ "${1:-}" = "--list" ]; then
  args=()
  for d in "${disks[@]}"; do args+=(--disk "$d"); done
  node bin/tendril.js list --no-sys "${args[@]}"
  exit 0
fi

# QEMU writes to the disks it is given: hand it private copies, the cache stays pristine.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
drives=()
i=0
for d in "${disks[@]}"; do
  cp --sparse=always "$d" "$work/disk$i.img"
  drives+=(-drive "file=$work/disk$i.img,if=virtio,format=raw")
  i=$((i + 1))
done
echo "Booting tendril in QEMU (TCG: about 30 s to the menu). Ctrl-A X quits."
# No SVM/VMX for the guest: KVM nested in QEMU's TCG needs a patched kvm_amd (docs/testing.md §3),
# so here the UEFI-only entry shows why the VM cannot run instead of starting it.
exec qemu-system-x86_64 -accel tcg -cpu qemu64,-svm,-vmx -m 1536 -nographic -no-reboot -nodefaults -serial mon:stdio \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet tendril.mode=menu" "${drives[@]}"
