#!/usr/bin/env bash
# The design's 4-resource environment done by hand, as a user would script it without testenv-vm:
# an ed25519 key, a Linux bridge, a libvirt network attached to it (forward mode bridge) with a dnsmasq on the
# bridge for DHCP, and a tiny VM (qcow2 overlay + NoCloud seed ISO) reached over SSH. Then teardown.
# The baseline that bench/libvirt-four-resource.ts compares testenv-vm against. Run inside the test host:
#   scripts/testhost.sh exec -- bash bench/baseline/four-resource.sh <base.qcow2> <third-octet> [name]
# Prints one line: create_ms=<to SSH-ready> delete_ms=<teardown>
set -euo pipefail

BASE=${1:?usage: four-resource.sh <base.qcow2> <third-octet> [name]}
OCTET=${2:?third octet of 192.168.X.0/24}
NAME=${3:-bl$$}
URI=qemu:///system
NET=192.168.$OCTET
BR=${NAME}-br
LVNET=${NAME}-net
DOM=${NAME}-vm
MAC=52:54:00:$(printf '%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
WORK=$(mktemp -d /var/tmp/testenv-vm-baseline-XXXXXX)
chmod 0755 "$WORK"
DNSMASQ_PID=
# shellcheck source=bench/baseline/common.sh
source "$(dirname "$0")/common.sh"

teardown() {
  virsh -q -c "$URI" destroy "$DOM" >/dev/null 2>&1 || true
  virsh -q -c "$URI" undefine "$DOM" >/dev/null 2>&1 || true
  virsh -q -c "$URI" net-destroy "$LVNET" >/dev/null 2>&1 || true
  virsh -q -c "$URI" net-undefine "$LVNET" >/dev/null 2>&1 || true
  if [ -n "$DNSMASQ_PID" ]; then kill "$DNSMASQ_PID" 2>/dev/null || true; fi
  ip link del "$BR" 2>/dev/null || true
  rm -rf "$WORK"
}
trap teardown EXIT

T0=$(now_ms)

# 1. key
make_key

# 2. bridge
ip link add "$BR" type bridge
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up

# 3. libvirt network on the bridge, and DHCP on it (libvirt serves none in forward mode bridge)
cat >"$WORK/net.xml" <<EOF
<network><name>$LVNET</name><forward mode='bridge'/><bridge name='$BR'/></network>
EOF
virsh -q -c "$URI" net-define "$WORK/net.xml" >/dev/null
virsh -q -c "$URI" net-start "$LVNET" >/dev/null
dnsmasq --conf-file=/dev/null --bind-interfaces --interface="$BR" --except-interface=lo --port=0 --no-ping \
  --pid-file="$WORK/dnsmasq.pid" --dhcp-leasefile="$WORK/dnsmasq.leases" \
  --dhcp-range="$NET.10,$NET.50,255.255.255.0,1h" --dhcp-authoritative
DNSMASQ_PID=$(cat "$WORK/dnsmasq.pid")

# 4-6. overlay disk, NoCloud seed, domain
make_disk_and_seed
define_and_start "$LVNET"

# 7. the lease for our MAC
IP=
for _ in $(seq 1 1800); do
  IP=$(awk -v mac="$MAC" '$2 == mac { print $3 }' "$WORK/dnsmasq.leases" 2>/dev/null || true)
  [ -n "$IP" ] && break
  sleep 0.2
done
[ -n "$IP" ] || { echo "no DHCP lease for $MAC" >&2; exit 1; }

# 8. SSH works
wait_for_ssh "$IP" 0.5

# 9. teardown (what delete does), timed, and the line
finish
