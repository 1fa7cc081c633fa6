#!/usr/bin/env bash
# A key, a NAT libvirt network with libvirt's own DHCP, and a tiny VM (qcow2 overlay + NoCloud seed ISO) reached
# over SSH, done by hand as an outsider would script it: the lease polled with `virsh net-dhcp-leases` and `ssh`
# tried every 0.2 s. Then teardown. The baseline of `bench/libvirt-four-resource.ts nat`. Run inside the test host:
#   scripts/testhost.sh exec -- bash bench/baseline/nat.sh <base.qcow2> <third-octet> [name]
# Prints one line: create_ms=<to SSH-ready> delete_ms=<teardown> floor_ms=<the guest's own time to SSH>
set -euo pipefail

BASE=${1:?usage: nat.sh <base.qcow2> <third-octet> [name]}
OCTET=${2:?third octet of 192.168.X.0/24}
NAME=${3:-nat$$}
URI=qemu:///system
NET=192.168.$OCTET
LVNET=${NAME}-net
DOM=${NAME}-vm
MAC=52:54:00:$(printf '%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
WORK=$(mktemp -d /var/tmp/testenv-vm-baseline-XXXXXX)
chmod 0755 "$WORK"
# shellcheck source=bench/baseline/common.sh
source "$(dirname "$0")/common.sh"

teardown() {
  virsh -q -c "$URI" destroy "$DOM" >/dev/null 2>&1 || true
  virsh -q -c "$URI" undefine "$DOM" >/dev/null 2>&1 || true
  virsh -q -c "$URI" net-destroy "$LVNET" >/dev/null 2>&1 || true
  virsh -q -c "$URI" net-undefine "$LVNET" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap teardown EXIT

T0=$(now_ms)
make_key

cat >"$WORK/net.xml" <<EOF
<network><name>$LVNET</name><forward mode='nat'/><bridge name='${NAME}-br' stp='off'/>
  <ip address='$NET.1' netmask='255.255.255.0'><dhcp><range start='$NET.10' end='$NET.50'/></dhcp></ip></network>
EOF
virsh -q -c "$URI" net-define "$WORK/net.xml" >/dev/null
virsh -q -c "$URI" net-start "$LVNET" >/dev/null

make_disk_and_seed
define_and_start "$LVNET"

IP=
for _ in $(seq 1 1500); do
  IP=$(virsh -q -c "$URI" net-dhcp-leases "$LVNET" --mac "$MAC" 2>/dev/null | awk '{ sub(/\/.*/, "", $5); print $5; exit }')
  [ -n "$IP" ] && break
  sleep 0.2
done
[ -n "$IP" ] || { echo "no DHCP lease for $MAC" >&2; exit 1; }

wait_for_ssh "$IP" 0.2
finish
