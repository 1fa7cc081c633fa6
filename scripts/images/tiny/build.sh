#!/usr/bin/env bash
# Build the tiny guest image into $2 (an empty directory):
#   tiny.qcow2  BIOS+UEFI bootable FAT "superfloppy" (no partition table): syslinux (+ syslinux.efi),
#               the Debian cloud kernel and a busybox + dropbear initramfs with a tiny NoCloud init
#   vmlinuz, initrd.gz  the same kernel and initramfs, for direct kernel boot and PXE
# $1 = the linux-image-*-cloud-amd64 .deb to take the kernel and modules from. $WORK = scratch directory.
# No loop device and no mount: the disk is assembled with mtools. Root is needed only for mknod.
set -euo pipefail
KDEB=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:?WORK must name a scratch directory}
SIZE_MB=32
R=$WORK/rootfs KROOT=$WORK/kernel

dpkg-deb -x "$KDEB" "$KROOT"
K=$(ls "$KROOT/lib/modules")
[[ $(wc -w <<< "$K") -eq 1 ]] || { echo "tiny: expected one kernel in $KDEB, found: $K" >&2; exit 1; }
depmod -b "$KROOT" "$K"

mkdir -p "$R"/{bin,etc/dropbear,etc/tiny,proc,sys,dev,run,tmp,boot,mnt/seed,root,home,var/log,var/lib,lib/x86_64-linux-gnu,lib64,lib/modules,usr}
ln -s bin "$R/sbin"; ln -s ../bin "$R/usr/bin"; ln -s ../bin "$R/usr/sbin"
chmod 700 "$R/root"; chmod 1777 "$R/tmp"

# busybox (static) with every applet as a symlink
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$R/bin/$a"; done
# dropbear + its shared libraries (and the loader)
cp /usr/sbin/dropbear /usr/bin/dropbearkey "$R/bin/"
for lib in $(ldd /usr/sbin/dropbear /usr/bin/dropbearkey | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | sort -u); do
  cp -L "$lib" "$R$lib"
done

# kernel modules in dependency order (resolved here, loaded with insmod in the guest)
: > "$R/etc/tiny/modules.order"
for m in virtio_pci virtio_net virtio_blk virtio_scsi e1000 ata_piix sr_mod sd_mod isofs vfat \
         nls_cp437 nls_ascii nls_iso8859_1 button evdev; do
  modprobe -d "$KROOT" -S "$K" --show-depends "$m" 2>/dev/null || echo "tiny: note: module $m not in $K (built in or absent)" >&2
done | awk '$1=="insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
  rel=${ko#"$KROOT/lib/modules/$K/"}
  mkdir -p "$R/lib/modules/$(dirname "$rel")"
  cp "$ko" "$R/lib/modules/$rel"
  echo "$rel" >> "$R/etc/tiny/modules.order"
done

cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534:sshd:/run:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
printf 'root:*:19000:0:99999:7:::\n' > "$R/etc/shadow"; chmod 600 "$R/etc/shadow"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$R/etc/group"
printf '/bin/sh\n/bin/ash\n' > "$R/etc/shells"
printf 'export PATH=/bin\nexport PS1='"'"'\\h:\\w\\$ '"'"'\n' > "$R/etc/profile"
echo 'hosts: files dns' > "$R/etc/nsswitch.conf"
: > "$R/etc/resolv.conf"
cp -a "$HERE/rootfs/." "$R/"
ln -s tiny-cloudinit "$R/bin/cloud-init"
mkdir -p "$R/etc/acpi/PWRF"
printf '#!/bin/sh\npoweroff\n' > "$R/etc/acpi/PWRF/00000080"; chmod +x "$R/etc/acpi/PWRF/00000080"
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3

(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$OUT/initrd.gz"
cp "$KROOT/boot/vmlinuz-$K" "$OUT/vmlinuz"
echo "$K" > "$OUT/kernel-version"

APPEND="console=tty0 console=ttyS0,115200n8 panic=10"
cat > "$WORK/syslinux.cfg" <<S
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $APPEND
S
# FAT superfloppy with big clusters (fewer BIOS reads for syslinux); label TINYBOOT is how the init
# recognises its own boot disk.
IMG=$WORK/tiny.raw
truncate -s "${SIZE_MB}M" "$IMG"
mformat -i "$IMG" -T $((SIZE_MB * 2048)) -h 64 -s 32 -c 64 -v TINYBOOT ::
syslinux --install "$IMG"
mcopy -i "$IMG" "$OUT/vmlinuz" "$OUT/initrd.gz" "$WORK/syslinux.cfg" ::/
mmd -i "$IMG" ::/state
# UEFI path on the same FAT: syslinux.efi as the removable-media loader
mmd -i "$IMG" ::/EFI ::/EFI/BOOT
mcopy -i "$IMG" /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$IMG" /usr/lib/syslinux/modules/efi64/ldlinux.e64 ::/EFI/BOOT/ldlinux.e64
mcopy -i "$IMG" "$WORK/syslinux.cfg" ::/EFI/BOOT/syslinux.cfg
qemu-img convert -f raw -O qcow2 -c "$IMG" "$OUT/tiny.qcow2"
