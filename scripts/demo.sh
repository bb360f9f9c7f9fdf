#!/usr/bin/env bash
# The main job: builds tendril, its initramfs and two demo disks (a Fedora-style ESP +
# XBOOTLDR with BLS entries, a Debian-style disk with an ESP grub stub and grub.cfg), then
# boots Debian's kernel with the tendril initramfs in QEMU with the menu on this terminal.
# Choose an entry (arrows, Enter; `e` edits its command line): tendril kexecs Debian's kernel,
# whose tiny initramfs prints the command line it received and powers off. The UEFI-only entry
# (Debian's kernel as an EFI program) goes to tendril's VM where KVM can run firmware.
# As root it also starts a private network namespace (test/fixtures/demo-net.ts): dnsmasq hands
# the guest a lease whose boot file is an https iPXE menu on nginx, so network entries appear
# after the disks' ones and boot by kexec over verified https. Nothing leaves the namespace.
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
# The network: a namespace holding a tap device, dnsmasq and nginx; QEMU runs inside it.
netns=() nic=()
if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
  ns="tendril-demo-$$"
  ip netns add "$ns"
  trap 'ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
  ip -n "$ns" link set lo up
  ip -n "$ns" tuntap add dev tap0 mode tap
  ip -n "$ns" addr add 192.0.2.1/24 dev tap0
  ip -n "$ns" link set tap0 up
  dnsmasq_args=
  while IFS='=' read -r k v; do [ "$k" = DNSMASQ_ARGS ] && dnsmasq_args=$v; done \
    < <(node scripts/run-ts.mjs test/fixtures/demo-net.ts "$work")
  # shellcheck disable=SC2086 # one argument per word, as printed
  ip netns exec "$ns" dnsmasq $dnsmasq_args --log-facility="$work/dnsmasq.log" &
  ip netns exec "$ns" nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" -g 'daemon off;' &
  netns=(ip netns exec "$ns")
  nic=(-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0)
  echo "Network: dnsmasq and nginx (https, the initramfs trusts their CA) in namespace $ns."
else
  echo "Network entries need root (a private network namespace); the demo runs without them."
fi
echo "Booting tendril in QEMU (TCG: about 30 s to the menu). Ctrl-A X quits."
# No SVM/VMX for the guest: KVM nested in QEMU's TCG needs a patched kvm_amd (docs/testing.md §3),
# so here the UEFI-only entry shows why the VM cannot run instead of starting it.
"${netns[@]}" qemu-system-x86_64 -accel tcg -cpu qemu64,-svm,-vmx -m 1536 -nographic -no-reboot -nodefaults -serial mon:stdio \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet tendril.mode=menu" "${drives[@]}" "${nic[@]}"
