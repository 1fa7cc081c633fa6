#!/usr/bin/env bash
# Build a Debian bookworm guest with real cloud-init into $1/debian-ci.qcow2, without loop devices or mounts:
#   mmdebstrap (minbase + cloud kernel + cloud-init + openssh-server + sudo + ifupdown) -> rootfs directory
#   disk = MBR (syslinux mbr.bin) + p1 FAT /boot (syslinux via mtools, plus syslinux.efi for UEFI)
#        + p2 ext4 root written straight into the image file (mkfs.ext4 -d, -E offset)
# Tuned for TCG boot time: NoCloud only, no locale module, ed25519/ecdsa host keys only,
# initramfs with just the modules a virtio VM needs, e2scrub timers masked.
set -euo pipefail
OUT=$1
WORK=${WORK:?WORK must name a scratch directory}
MIRROR=${TESTENV_VM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${TESTENV_VM_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
R=$WORK/rootfs DISK=$WORK/disk.raw
DISK_MB=2048 BOOT_MB=128

CLOUD_CFG='datasource_list: [ NoCloud, None ]
locale: false
grub_dpkg: {enabled: false}
ssh_genkeytypes: [ed25519, ecdsa]
'
bootstrap() {
mmdebstrap --variant=minbase --quiet \
  --include=linux-image-cloud-amd64,systemd-sysv,udev,dbus,cloud-init,openssh-server,ifupdown,isc-dhcp-client,iproute2,sudo,netbase,ca-certificates \
  --customize-hook='echo "LABEL=ciroot / ext4 defaults,errors=remount-ro 0 1" > "$1/etc/fstab"' \
  --customize-hook="mkdir -p \"\$1/etc/cloud/cloud.cfg.d\"; printf '%s' '$CLOUD_CFG' > \"\$1/etc/cloud/cloud.cfg.d/90_testenv_vm.cfg\"" \
  --customize-hook='printf "virtio_pci\nvirtio_blk\nvirtio_scsi\nsd_mod\next4\n" >> "$1/etc/initramfs-tools/modules"; echo MODULES=list > "$1/etc/initramfs-tools/conf.d/testenv-vm.conf"; chroot "$1" update-initramfs -u -k all' \
  --customize-hook='chroot "$1" systemctl mask e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1 || true' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*; : > "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"; echo localhost > "$1/etc/hostname"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm "$R" \
  "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECURITY_MIRROR bookworm-security main" < /dev/null
}
# one retry: a mirror hiccup during 'apt-get update' should not fail a CI run
if ! bootstrap; then
  echo "debian-ci: mmdebstrap failed; retrying once in 10 s" >&2
  sleep 10; rm -rf "$R"; bootstrap
fi

KV=$(ls "$R/lib/modules")
[[ $(wc -w <<< "$KV") -eq 1 ]] || { echo "debian-ci: expected one kernel, found: $KV" >&2; exit 1; }

truncate -s "${DISK_MB}M" "$DISK"
P1S=2048 P1N=$((BOOT_MB * 2048))
P2S=$((P1S + P1N)); P2N=$((DISK_MB * 2048 - P2S))
printf 'label: dos\nstart=%s, size=%s, type=c, bootable\nstart=%s, size=%s, type=83\n' $P1S $P1N $P2S $P2N | sfdisk -q "$DISK"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$DISK" bs=440 count=1 conv=notrunc status=none
BOOT="$DISK@@$((P1S * 512))"
mformat -i "$BOOT" -T $P1N -h 64 -s 32 -H $P1S -c 8 -v CIBOOT ::
syslinux --install --offset $((P1S * 512)) "$DISK"
cat > "$WORK/syslinux.cfg" <<S
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=ciroot ro console=tty0 console=ttyS0,115200n8
S
cp "$R/boot/vmlinuz-$KV" "$WORK/vmlinuz"; cp "$R/boot/initrd.img-$KV" "$WORK/initrd.img"
mcopy -i "$BOOT" "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/syslinux.cfg" ::/
mmd -i "$BOOT" ::/EFI ::/EFI/BOOT
mcopy -i "$BOOT" /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$BOOT" /usr/lib/syslinux/modules/efi64/ldlinux.e64 ::/EFI/BOOT/ldlinux.e64
mcopy -i "$BOOT" "$WORK/syslinux.cfg" ::/EFI/BOOT/syslinux.cfg
mkfs.ext4 -q -F -L ciroot -E offset=$((P2S * 512)) -d "$R" "$DISK" $((P2N / 2))k
qemu-img convert -f raw -O qcow2 "$DISK" "$OUT/debian-ci.qcow2"
echo "$KV" > "$OUT/kernel-version"
dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Package}=${Version}\n' > "$OUT/packages.txt"
