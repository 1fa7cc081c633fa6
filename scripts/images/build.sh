#!/usr/bin/env bash
# Build (or reuse) the guest images the libvirt test stages boot.
#
#   scripts/images/build.sh [tiny|pxe|debian-ci|all]...   (default: tiny pxe)
#   scripts/images/build.sh gc                            remove cached builds no name points to
#
# Cache: ${TESTENV_VM_TEST_IMAGES_DIR:-/var/cache/testenv-vm/test-images}. Each artifact is built once
# into <kind>-<hash>/, where <hash> covers its build scripts and the versions of the Debian packages it
# is made from; <kind> is a symlink to the current one. A changed script rebuilds; an unchanged one
# is reused across runs. Builds happen in a temporary directory renamed into place (atomic) under a
# per-kind lock, so concurrent callers wait for one build.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${TESTENV_VM_TEST_IMAGES_DIR:-/var/cache/testenv-vm/test-images}

say() { echo "images: $*" >&2; }
die() { say "$*"; exit 1; }

pkg_versions() { dpkg-query -W -f='${Package}=${Version}\n' "$@" 2>/dev/null | LC_ALL=C sort; }

# Newest Debian cloud kernel package, as named by the linux-image-cloud-amd64 meta-package.
cloud_kernel_pkg() {
  local pkg
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [[ -n $pkg ]] || die "cannot resolve linux-image-cloud-amd64 (run 'apt-get update'; needs the Debian bookworm main archive)"
  echo "$pkg=$(apt-cache policy "$pkg" | awk '/Candidate:/{print $2}')"
}

# The .deb for "$1" (pkg=version), downloaded once into the cache.
fetch_deb() {
  local spec=$1 name=${1%%=*} ver=${1#*=} dl=$CACHE/downloads deb
  mkdir -p "$dl"
  deb=$(find "$dl" -maxdepth 1 -name "${name}_${ver//:/%3a}_*.deb" | head -n1)
  if [[ -z $deb ]]; then
    say "downloading $spec"
    (cd "$dl" && apt-get download -q "$spec" >/dev/null 2>&1) || die "apt-get download $spec failed"
    deb=$(find "$dl" -maxdepth 1 -name "${name}_${ver//:/%3a}_*.deb" | head -n1)
    [[ -n $deb ]] || die "apt-get download $spec did not produce a .deb in $dl"
    chmod 0644 "$deb"
  fi
  echo "$deb"
}

# Bump when this file changes what ends up in an image (permissions, layout); other edits here must
# not invalidate the cache (a debian-ci rebuild costs minutes).
CACHE_FORMAT=1

# Content hash of a kind's inputs: the files under <kind>/ (by path and content) plus extra text.
inputs_hash() {
  local kind=$1 extra=$2
  {
    echo "format $CACHE_FORMAT"
    (cd "$HERE" && find "$kind" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    printf '%s\n' "$extra"
  } | sha256sum | cut -c1-16
}

# build_cached KIND EXTRA BUILDER ARGS... : run BUILDER ARGS... OUT_DIR unless KIND-<hash> exists.
build_cached() {
  local kind=$1 extra=$2; shift 2
  local hash dest tmp
  hash=$(inputs_hash "$kind" "$extra")
  dest=$CACHE/$kind-$hash
  mkdir -p "$CACHE"; chmod 0755 "$CACHE"
  exec {lockfd}> "$CACHE/.lock-$kind"
  flock "$lockfd"
  if [[ -f $dest/.complete ]]; then
    say "$kind: cached $dest"
  else
    tmp=$(mktemp -d "$CACHE/.build-$kind.XXXXXX")
    mkdir "$tmp/out" "$tmp/work"
    local t0=$SECONDS
    say "$kind: building into $dest"
    if ! WORK=$tmp/work "$@" "$tmp/out" > "$tmp/build.log" 2>&1; then
      tail -n 40 "$tmp/build.log" >&2
      rm -rf "$tmp"
      die "$kind: build failed (log above)"
    fi
    rm -rf "$tmp/work"
    printf '%s\n' "$extra" > "$tmp/out/build-inputs.txt"
    # readable by libvirt-qemu (qemu runs as that user) and by dnsmasq's TFTP (runs as nobody)
    find "$tmp/out" -type d -exec chmod 0755 {} + ; find "$tmp/out" -type f -exec chmod 0644 {} +
    touch "$tmp/out/.complete"
    rm -rf "$dest"
    mv -T "$tmp/out" "$dest"
    rm -rf "$tmp"
    say "$kind: built in $((SECONDS - t0)) s"
  fi
  ln -sfn "$kind-$hash" "$CACHE/.$kind.link"
  mv -T "$CACHE/.$kind.link" "$CACHE/$kind"
  flock -u "$lockfd"
  exec {lockfd}>&-
}

tiny_extra() {
  echo "kernel $(cloud_kernel_pkg)"
  pkg_versions busybox-static dropbear-bin syslinux syslinux-common syslinux-efi mtools cpio qemu-utils kmod
}

build_tiny() {
  local extra kdeb
  extra=$(tiny_extra)
  kdeb=$(fetch_deb "$(sed -n 's/^kernel //p' <<< "$extra")")
  build_cached tiny "$extra" "$HERE/tiny/build.sh" "$kdeb"
}

build_pxe() {
  build_tiny
  local tiny
  tiny=$(readlink -f "$CACHE/tiny")
  build_cached pxe "tiny $(basename "$tiny")
$(pkg_versions pxelinux syslinux-common)" "$HERE/pxe/build.sh" "$tiny"
}

# The guest's packages come from the mirror: key them by the versions the host's apt lists offer.
debian_ci_extra() {
  pkg_versions mmdebstrap syslinux syslinux-common mtools fdisk e2fsprogs qemu-utils
  local p
  for p in cloud-init openssh-server systemd "$(cloud_kernel_pkg | cut -d= -f1)"; do
    echo "guest $p=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')"
  done
}

build_debian_ci() {
  build_cached debian-ci "$(debian_ci_extra)" "$HERE/debian-ci/build.sh"
}

gc() {
  local d keep kind
  for kind in tiny pxe debian-ci; do   # wait for running builds; the locks are released on exit
    exec {fd}> "$CACHE/.lock-$kind"
    flock "$fd"
  done
  for d in "$CACHE"/*-*; do
    [[ -d $d && ! -L $d && $(basename "$d") =~ ^(tiny|pxe|debian-ci)-[0-9a-f]{16}$ ]] || continue
    keep=0
    for link in "$CACHE"/tiny "$CACHE"/pxe "$CACHE"/debian-ci; do
      [[ -L $link && $(readlink "$link") == "$(basename "$d")" ]] && keep=1
    done
    ((keep)) || { say "removing $d"; rm -rf "$d"; }
  done
}

(($# > 0)) || set -- tiny pxe
for what in "$@"; do
  case $what in
    tiny) build_tiny ;;
    pxe) build_pxe ;;
    debian-ci) build_debian_ci ;;
    all) build_tiny; build_pxe; build_debian_ci ;;
    gc) gc ;;
    hash:tiny) echo "tiny-$(inputs_hash tiny "$(tiny_extra)")" ;;
    hash:debian-ci) echo "debian-ci-$(inputs_hash debian-ci "$(debian_ci_extra)")" ;;
    *) die "unknown image '$what' (tiny, pxe, debian-ci, all, gc)" ;;
  esac
done
