# Sourced by the hand-written baselines: the steps every one of them takes the same way (a key, an overlay, a
# NoCloud seed, a domain on a libvirt network, SSH polled), so each script says only what is its own.
# Needs: BASE, NAME, URI, WORK, DOM, MAC, T0 set by the script.

now_ms() { echo $(($(date +%s%N) / 1000000)); }

make_key() {
  ssh-keygen -q -t ed25519 -N '' -C "$NAME" -f "$WORK/id_ed25519"
}

make_disk_and_seed() {
  qemu-img create -q -f qcow2 -F qcow2 -b "$BASE" "$WORK/disk.qcow2" 1G
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
}

# define_and_start <libvirt network>: the virtual hardware testenv-vm's domain has (ACPI and APIC, which a graceful
# shutdown needs, a virtio RNG, no balloon), so both sides boot the same machine. Under TCG the guest's ACPI set-up
# alone adds about 1.1 s to the tiny image's boot (docs/performance.md).
define_and_start() {
  cat >"$WORK/dom.xml" <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model></cpu>
  <devices>
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$WORK/disk.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='$WORK/seed.iso'/><target dev='sda' bus='scsi'/><readonly/></disk>
    <interface type='network'><source network='$1'/><mac address='$MAC'/><model type='virtio'/></interface>
    <serial type='pty'><log file='$WORK/console.log'/></serial>
    <console type='pty'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
  virsh -q -c "$URI" define "$WORK/dom.xml" >/dev/null
  virsh -q -c "$URI" start "$DOM" >/dev/null
}

# wait_for_ssh <ip> <seconds between tries>: until a login runs a command, then one more command.
wait_for_ssh() {
  local tries
  tries=$(awk -v s="$2" 'BEGIN { print int(300 / s) }')
  for _ in $(seq 1 "$tries"); do
    if ssh -q -i "$WORK/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o ConnectTimeout=3 "root@$1" hostname >/dev/null 2>&1; then
      break
    fi
    sleep "$2"
  done
  ssh -q -i "$WORK/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "root@$1" true
}

# The guest's own time to SSH (ms of its uptime when both sshd and its network were up), from the tiny image's
# console lines `tiny-init: [<uptime>] ...`; empty for an image that prints none.
guest_floor_ms() {
  awk '/tiny-init: \[[0-9.]+\] (sshd \(dropbear\) started|network up)/ { gsub(/[][]/, "", $2); if ($2 > max) max = $2 }
       END { if (max != "") printf "%d", max * 1000 }' "$WORK/console.log" 2>/dev/null || true
}

# The end of every baseline once SSH works: the create time, the floor, teardown timed, and the one line printed.
finish() {
  local t1 t2 floor
  t1=$(now_ms)
  floor=$(guest_floor_ms)
  trap - EXIT
  teardown
  t2=$(now_ms)
  echo "create_ms=$((t1 - T0)) delete_ms=$((t2 - t1)) floor_ms=$floor"
}
