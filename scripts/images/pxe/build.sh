#!/usr/bin/env bash
# Build a TFTP root that network-boots the tiny image's kernel + initramfs into $2/tftp:
#   boot.ipxe                      for iPXE clients (QEMU's NIC option ROMs are iPXE)
#   pxelinux.0, ldlinux.c32, pxelinux.cfg/default   for plain PXE clients (package pxelinux)
# $1 = the built tiny image directory (vmlinuz, initrd.gz). The guest runs the tiny init, which finds
# its NoCloud seed on an attached CD-ROM or disk and starts sshd.
set -euo pipefail
TINY=$1 OUT=$2
APPEND="console=tty0 console=ttyS0,115200n8 panic=10"
T=$OUT/tftp
mkdir -p "$T/pxelinux.cfg"
cp "$TINY/vmlinuz" "$TINY/initrd.gz" "$T/"
cat > "$T/boot.ipxe" <<S
#!ipxe
echo testenv-vm tiny PXE boot: \${net0/ip} from \${next-server}
kernel vmlinuz $APPEND
initrd initrd.gz
boot
S
if [[ -f /usr/lib/PXELINUX/pxelinux.0 ]]; then
  cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$T/"
  cat > "$T/pxelinux.cfg/default" <<S
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND $APPEND
S
else
  echo "pxe: package pxelinux not installed; only boot.ipxe is provided" >&2
fi
