#!/usr/bin/env bash
# Installs everything testenv-vm and its tests need on Debian bookworm (run as root), then npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  libvirt-daemon-system libvirt-clients libvirt-dev qemu-system-x86 qemu-utils dnsmasq-base
  xorriso ovmf swtpm swtpm-tools busybox-static dropbear-bin syslinux syslinux-common syslinux-efi
  mtools cpio mmdebstrap fdisk e2fsprogs openssh-client iproute2 kmod pkg-config build-essential python3
  pxelinux ansible-core podman runc catatonit
  openssh-server # the remote libvirt host of the tests (scripts/testhost-remote.sh) runs its own sshd
)
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or install them first" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
npm ci --no-audit --no-fund
# The verbs work in any folder: testenv-vm on PATH, pointing at this checkout's build.
npm run --silent build
if [ -w /usr/local/bin ]; then
  ln -sf "$PWD/dist/src/bin.js" /usr/local/bin/testenv-vm
else
  echo "setup: /usr/local/bin is not writable; run bins as node $PWD/dist/src/bin.js, or link it onto PATH yourself" >&2
fi
