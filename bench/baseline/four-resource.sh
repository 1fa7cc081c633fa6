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

now_ms() { echo $(($(date +%s%N) / 1000000)); }

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
ssh-keygen -q -t ed25519 -N '' -C "$NAME" -f "$WORK/id_ed25519"

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

# 4. disk: overlay on the base image
qemu-img create -q -f qcow2 -F qcow2 -b "$BASE" "$WORK/disk.qcow2" 1G

# 5. NoCloud seed
mkdir "$WORK/seed"
printf 'instance-id: %s-%s\nlocal-hostname: %s\n' "$NAME" "$T0" "$NAME" >"$WORK/seed/meta-data"
{
  echo '#cloud-config'
  echo "hostname: $NAME"
  echo 'users:'
  echo '  - name: root'
  echo '    ssh_authorized_keys:'
  echo "      - $(cat "$WORK/id_ed25519.pub")"
} >"$WORK/seed/user-data"
xorriso -as mkisofs -quiet -volid cidata -joliet -rock -o "$WORK/seed.iso" "$WORK/seed" 2>/dev/null

# 6. domain
cat >"$WORK/dom.xml" <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model></cpu>
  <devices>
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$WORK/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='$WORK/seed.iso'/><target dev='sda' bus='scsi'/><readonly/></disk>
    <interface type='network'><source network='$LVNET'/><mac address='$MAC'/><model type='virtio'/></interface>
    <serial type='pty'><log file='$WORK/console.log'/></serial>
    <console type='pty'/>
  </devices>
</domain>
EOF
virsh -q -c "$URI" define "$WORK/dom.xml" >/dev/null
virsh -q -c "$URI" start "$DOM" >/dev/null

# 7. the lease for our MAC
IP=
for _ in $(seq 1 1800); do
  IP=$(awk -v mac="$MAC" '$2 == mac { print $3 }' "$WORK/dnsmasq.leases" 2>/dev/null || true)
  [ -n "$IP" ] && break
  sleep 0.2
done
[ -n "$IP" ] || { echo "no DHCP lease for $MAC" >&2; exit 1; }

# 8. SSH works
for _ in $(seq 1 600); do
  if ssh -q -i "$WORK/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=3 "root@$IP" hostname >/dev/null 2>&1; then
    break
  fi
  sleep 0.5
done
ssh -q -i "$WORK/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "root@$IP" true
T1=$(now_ms)

# 9. teardown (what delete does)
trap - EXIT
teardown
T2=$(now_ms)
echo "create_ms=$((T1 - T0)) delete_ms=$((T2 - T1))"
