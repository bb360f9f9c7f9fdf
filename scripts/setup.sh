#!/usr/bin/env bash
# Installs everything tendril's build, demo and tests need on a fresh Debian 12 machine.
# Idempotent: packages already present are not reinstalled, npm ci runs only when the lock
# changed, and the addon/bundle are rebuilt only when their sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # disk images for fixtures and the demo (and every filesystem magic we recognise)
  e2fsprogs dosfstools mtools gdisk fdisk util-linux xorriso genisoimage squashfs-tools
  cryptsetup-bin lvm2 btrfs-progs xfsprogs ntfs-3g exfatprogs f2fs-tools
  # grub-editenv / grub-mkconfig as oracles for the grubenv and grub.cfg readers
  grub-common
  # UKIs (stub + objcopy), kernels, firmware, emulation; Secure Boot test signing (sbsign, openssl)
  systemd-boot-efi binutils linux-image-amd64 ovmf qemu-system-x86 qemu-utils acpica-tools sbsigntool openssl
  # EFI applications with a PE version resource for the ESP-entry tests (windres, ld --subsystem 10)
  binutils-mingw-w64-x86-64
  # initramfs and the rescue shell
  busybox-static zstd xz-utils kmod cpio file
  # menu tests, grub-mkconfig fixture, benches
  tmux debootstrap hyperfine
  # a slow disk for the device-deadline tests (test/fixtures/slowdisk.py, FUSE)
  fuse3 python3-fusepy
  # addon build
  gcc make python3
  # network boot tests: real servers in network namespaces the tests create (docs/netboot.md §4)
  dnsmasq-base nginx-light atftpd tinyproxy nftables iproute2 openssh-client
  # SNTP tests: chronyd serves time in a namespace (run with -x: never sets this host's clock)
  chrony
  # measured boot tests: a software TPM for QEMU and the unit tests, tpm2_eventlog as the log oracle
  swtpm swtpm-tools tpm2-tools
  # signature tests: detached minisign signatures (sbsign, openssl, ssh-keygen are listed above)
  minisign
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  # The server packages (nginx, atftpd, tinyproxy) would start their services on this host when
  # an init system runs: the tests start their own copies inside namespaces, so a policy-rc.d
  # that refuses service starts is put in place for the install (and removed after) if none is.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tftpd-hpa (its --refuse makes a server that refuses TFTP options) conflicts with atftpd (the
# one with RFC 7440 windowsize), so it is unpacked, not installed, like bootctl below.
if [ ! -x /opt/tendril-tftpd-hpa/usr/sbin/in.tftpd ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download tftpd-hpa >/dev/null 2>&1 || { apt-get update -qq && apt-get download tftpd-hpa; })
  dpkg -x "$tmp"/tftpd-hpa_*.deb /opt/tendril-tftpd-hpa
  rm -rf "$tmp"
fi

# The nested-KVM tests rebuild kvm-amd from Debian's source for the kernel the test guest
# boots (src/vm/README.md): its headers must match that exact version. The version is looked
# up (newest /boot/vmlinuz-* with modules, as initramfs/host.ts does), and `linux-source` is
# the metapackage that follows Debian's current source, so no version is named here.
KVER=$(for f in /boot/vmlinuz-*; do v=${f#/boot/vmlinuz-}; [ -f "/lib/modules/$v/modules.dep" ] && echo "$v"; done 2>/dev/null | sort -V | tail -1)
if [ -n "$KVER" ]; then
  need=()
  for p in linux-source "linux-headers-$KVER"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# systemd-boot's bootctl as the oracle for BLS sorting and titles, unpacked (not installed:
# its kernel-install hooks would write to /boot).
if [ ! -x /opt/tendril-sdboot/usr/bin/bootctl ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download systemd-boot >/dev/null 2>&1 || { apt-get update -qq && apt-get download systemd-boot; })
  dpkg -x "$tmp"/systemd-boot_*.deb /opt/tendril-sdboot
  rm -rf "$tmp"
fi

# npm ci only when node_modules does not match the lock file.
stamp=node_modules/.tendril-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

sh scripts/build-native.sh
node scripts/build.mjs
