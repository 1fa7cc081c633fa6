#!/usr/bin/env bash
# What a person does by hand for one project VM, without testenv-vm: the steps `testenv-vm up | ssh | stop |
# start | rm` stand for, on an existing libvirt network (as their `default`). Polls with virsh and ssh every 0.2 s.
# The baseline that bench/project-folder.ts compares the verbs against. Run inside the test host:
#   scripts/testhost.sh exec -- bash bench/baseline/project-by-hand.sh <base.qcow2> <libvirt network> [name]
# Prints one line: up_ms=<to SSH-ready> ssh_ms=<one ssh command> stop_ms=<shut off> start_ms=<SSH again> rm_ms=<gone>
set -euo pipefail

BASE=${1:?usage: project-by-hand.sh <base.qcow2> <libvirt network> [name]}
NETWORK=${2:?an existing libvirt network}
NAME=${3:-byhand$$}
URI=qemu:///system
MAC=52:54:00:$(printf '%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)))
WORK=$(mktemp -d /var/tmp/testenv-vm-byhand-XXXXXX)
chmod 0755 "$WORK"
SSH=(ssh -q -i "$WORK/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
v() { virsh -q -c "$URI" "$@"; }

teardown() {
  v destroy "$NAME" >/dev/null 2>&1 || true
  v undefine "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap teardown EXIT

wait_ssh() {
  for _ in $(seq 1 3000); do
    "${SSH[@]}" "root@$IP" true 2>/dev/null && return 0
    sleep 0.2
  done
  echo "no SSH on $IP" >&2
  exit 1
}

T0=$(now_ms)
# up: key, overlay, NoCloud seed, domain, lease, ssh
ssh-keygen -q -t ed25519 -N '' -C "$NAME" -f "$WORK/id_ed25519"
qemu-img create -q -f qcow2 -F qcow2 -b "$BASE" "$WORK/disk.qcow2" 1G
mkdir "$WORK/seed"
printf 'instance-id: %s\nlocal-hostname: %s\n' "$NAME" "$NAME" >"$WORK/seed/meta-data"
printf '#cloud-config\nhostname: %s\nusers:\n  - name: root\n    ssh_authorized_keys:\n      - %s\n' "$NAME" "$(cat "$WORK/id_ed25519.pub")" >"$WORK/seed/user-data"
xorriso -as mkisofs -quiet -volid cidata -joliet -rock -o "$WORK/seed.iso" "$WORK/seed" 2>/dev/null
cat >"$WORK/dom.xml" <<EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model></cpu>
  <devices>
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$WORK/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='$WORK/seed.iso'/><target dev='sda' bus='scsi'/><readonly/></disk>
    <interface type='network'><source network='$NETWORK'/><mac address='$MAC'/><model type='virtio'/></interface>
    <serial type='pty'><log file='$WORK/console.log'/></serial>
    <console type='pty'/>
  </devices>
</domain>
EOF
v define "$WORK/dom.xml" >/dev/null
v start "$NAME" >/dev/null
IP=
for _ in $(seq 1 3000); do
  IP=$(v net-dhcp-leases "$NETWORK" --mac "$MAC" 2>/dev/null | awk '{ print $5 }' | cut -d/ -f1 | head -n1)
  [ -n "$IP" ] && break
  sleep 0.2
done
[ -n "$IP" ] || { echo "no DHCP lease for $MAC" >&2; exit 1; }
wait_ssh
T1=$(now_ms)

# ssh: one command
"${SSH[@]}" "root@$IP" true
T2=$(now_ms)

# stop: ACPI shutdown, forced after 60 s (what STOP_TIMEOUT does)
v shutdown "$NAME" >/dev/null
for _ in $(seq 1 300); do
  [ "$(v domstate "$NAME")" = "shut off" ] && break
  sleep 0.2
done
[ "$(v domstate "$NAME")" = "shut off" ] || v destroy "$NAME" >/dev/null
T3=$(now_ms)

# start: boot the kept disk, SSH again
v start "$NAME" >/dev/null
wait_ssh
T4=$(now_ms)

# rm
trap - EXIT
teardown
T5=$(now_ms)
echo "up_ms=$((T1 - T0)) ssh_ms=$((T2 - T1)) stop_ms=$((T3 - T2)) start_ms=$((T4 - T3)) rm_ms=$((T5 - T4))"
