#!/usr/bin/env bash
# A second libvirt host for the test host (scripts/testhost.sh): its own network namespace joined to the test
# host's namespace by a veth pair, its own mount namespace (private /run, /var/lib/libvirt, /etc/libvirt,
# /var/log/libvirt, /var/cache/libvirt, /var/lib/testenv-vm, and no view of the test image cache), its own
# virtlogd + libvirtd, and an sshd. From the test host's namespace it is reachable only over SSH, as
# qemu+ssh://root@198.18.13.2/system. Opt-in: only the tests that need it start it.
#
#   testhost-remote.sh up       create it (the test host must be up); prints the env lines of `env` when done
#   testhost-remote.sh down     stop what `up` started (by recorded PID), delete its namespace and state; best effort
#   testhost-remote.sh status   exit 0 when up (add --quiet to print nothing)
#   testhost-remote.sh env      KEY=VALUE lines a test needs: URI, address, SSH key, known_hosts
#   testhost-remote.sh libvirtd kill|start   SIGKILL the host's libvirtd (a crash), or start it again (fault tests)
#
# Env: TESTENV_VM_NETNS (the test host's namespace, default tvmtest), TESTENV_VM_REMOTE_NETNS (default tvmremote),
#      TESTENV_VM_REMOTE_DIR (default /var/tmp/testenv-vm-remote), TESTENV_VM_TESTHOST_TIMEOUT (default 60 s).
# The addresses are from 198.18.0.0/15 (RFC 2544 benchmarking): no private range is used, none is shadowed.
set -euo pipefail

LOCAL_NS=${TESTENV_VM_NETNS:-tvmtest}
NS=${TESTENV_VM_REMOTE_NETNS:-tvmremote}
DIR=${TESTENV_VM_REMOTE_DIR:-/var/tmp/testenv-vm-remote}
TIMEOUT=${TESTENV_VM_TESTHOST_TIMEOUT:-60}
LOCAL_ADDRESS=198.18.13.1
ADDRESS=198.18.13.2
LOCAL_LINK=tvrem0
REMOTE_LINK=tvrem1

say() { echo "testhost-remote: $*" >&2; }
die() { say "$*"; exit 1; }

for name in "$LOCAL_NS" "$NS"; do
  [[ $name =~ ^[A-Za-z0-9_.-]{1,32}$ ]] || die "'$name' is not a valid namespace name"
done
[[ $DIR == /* && $DIR != / ]] || die "TESTENV_VM_REMOTE_DIR must be an absolute path other than /"

uri() { echo "qemu+ssh://root@$ADDRESS/system"; }

in_local_ns() { nsenter --net="/run/netns/$LOCAL_NS" -- "$@"; }

# shellcheck source=scripts/lib/pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pids.sh"

# virsh runs on the host itself, over ssh (libvirt's libssh transport crashes on some replies: docs/scale-out.md).
# The arguments are this script's own words (commands and object names), never user input.
virsh_remote() {
  in_local_ns timeout 20 ssh -o BatchMode=yes -o IdentitiesOnly=yes -i "$DIR/client/id_ed25519" -o "UserKnownHostsFile=$DIR/client/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ConnectTimeout=5 "root@$ADDRESS" -- virsh -q -c qemu:///system "$@"
}

is_up() {
  [[ -e /run/netns/$NS ]] && live_pid "$DIR/libvirtd.pid" libvirtd >/dev/null && live_pid "$DIR/sshd.pid" sshd >/dev/null \
    && virsh_remote version >/dev/null 2>&1
}

write_sshd_config() {
  cat > "$DIR/sshd/sshd_config" <<EOF
ListenAddress $ADDRESS
HostKey $DIR/sshd/ssh_host_ed25519_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/sshd/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
MaxStartups 64:30:128
MaxSessions 64
Subsystem sftp internal-sftp
EOF
}

# Runs inside the remote network namespace and a fresh mount namespace; the daemons it starts keep that mount
# namespace alive after this shell exits.
inside() {
  mount -t tmpfs -o mode=0755 tmpfs /run
  mkdir -p /run/libvirt /run/sshd /run/lock
  chmod 0755 /run/sshd
  mount --bind "$DIR/root/var-lib-libvirt" /var/lib/libvirt
  mount --bind "$DIR/root/etc-libvirt" /etc/libvirt
  mount --bind "$DIR/root/var-log-libvirt" /var/log/libvirt
  mount --bind "$DIR/root/var-cache-libvirt" /var/cache/libvirt
  mkdir -p /var/lib/testenv-vm /var/cache/testenv-vm
  mount --bind "$DIR/root/var-lib-testenv-vm" /var/lib/testenv-vm
  # The orchestrator's test images must reach this host by upload, not by a shared file system.
  mount -t tmpfs -o mode=0755,size=1m tmpfs /var/cache/testenv-vm
  if [[ -c /dev/kvm ]] && id libvirt-qemu >/dev/null 2>&1 && ! runuser -u libvirt-qemu -- test -r /dev/kvm -a -w /dev/kvm 2>/dev/null; then
    # As scripts/testhost.sh does: without udev /dev/kvm is 0600 and libvirt re-probes QEMU on every call.
    local major minor group
    group=$(getent group kvm >/dev/null && echo kvm || id -gn libvirt-qemu)
    read -r major minor < <(stat -c '%t %T' /dev/kvm)
    mkdir -p /run/kvm-shim
    mknod -m 0660 /run/kvm-shim/kvm c $((16#$major)) $((16#$minor))
    chgrp "$group" /run/kvm-shim/kvm
    mount --bind /run/kvm-shim/kvm /dev/kvm
  fi
  virtlogd -d -p "$DIR/virtlogd.pid"
  libvirtd -d -p "$DIR/libvirtd.pid"
  /usr/sbin/sshd -f "$DIR/sshd/sshd_config"
}

# Empty copies of a directory tree (folders with their owner and mode, no files), so the daemons find what the
# packages created without seeing the first host's objects.
copy_tree_shape() {
  local from=$1 to=$2 dir
  mkdir -p "$to"
  [[ -d $from ]] || return 0
  (cd "$from" && find . -type d ! -name 'domain-*' -print0) | while IFS= read -r -d '' dir; do
    mkdir -p "$to/$dir"
    chown --reference="$from/$dir" "$to/$dir"
    chmod --reference="$from/$dir" "$to/$dir"
  done
}

cmd_up() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  [[ -e /run/netns/$LOCAL_NS ]] || die "the test host's namespace $LOCAL_NS does not exist; run 'scripts/testhost.sh up' first"
  command -v /usr/sbin/sshd >/dev/null || die "sshd is missing (install openssh-server; scripts/setup.sh does)"
  if is_up; then
    say "already up: namespace $NS, libvirtd PID $(live_pid "$DIR/libvirtd.pid" libvirtd)"
    return 0
  fi
  [[ ! -e /run/netns/$NS ]] || cmd_down
  local started=$SECONDS
  rm -rf "$DIR"
  mkdir -p "$DIR/sshd" "$DIR/client" "$DIR/root"
  chmod 0700 "$DIR"
  copy_tree_shape /var/lib/libvirt "$DIR/root/var-lib-libvirt"
  cp -a /etc/libvirt/. "$DIR/root/etc-libvirt/" 2>/dev/null || { mkdir -p "$DIR/root/etc-libvirt"; cp -a /etc/libvirt/. "$DIR/root/etc-libvirt/"; }
  # The configuration, not the objects: no domain or network of the first host is defined on the second.
  rm -rf "$DIR/root/etc-libvirt/qemu/networks/autostart" "$DIR/root/etc-libvirt/qemu/autostart"
  find "$DIR/root/etc-libvirt/qemu" -maxdepth 2 -name '*.xml' -delete 2>/dev/null || true
  copy_tree_shape /var/log/libvirt "$DIR/root/var-log-libvirt"
  # The QEMU capabilities cache is the same for both hosts (same binaries): copied, it spares a re-probe.
  copy_tree_shape /var/cache/libvirt "$DIR/root/var-cache-libvirt"
  cp -a /var/cache/libvirt/qemu/capabilities/. "$DIR/root/var-cache-libvirt/qemu/capabilities/" 2>/dev/null || true
  mkdir -p "$DIR/root/var-lib-testenv-vm"
  chmod 0755 "$DIR/root" "$DIR/root/var-lib-testenv-vm"
  # libvirt-qemu opens disks under the data dir: every folder above it must be traversable.
  chmod 0711 "$DIR"

  ssh-keygen -q -t ed25519 -N "" -C "testenv-vm remote test host" -f "$DIR/sshd/ssh_host_ed25519_key"
  ssh-keygen -q -t ed25519 -N "" -C "testenv-vm remote test client" -f "$DIR/client/id_ed25519"
  cp "$DIR/client/id_ed25519.pub" "$DIR/sshd/authorized_keys"
  echo "$ADDRESS $(cut -d' ' -f1-2 "$DIR/sshd/ssh_host_ed25519_key.pub")" > "$DIR/client/known_hosts"
  write_sshd_config

  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$LOCAL_NS" link add "$LOCAL_LINK" type veth peer name "$REMOTE_LINK" netns "$NS"
  ip -n "$LOCAL_NS" addr add "$LOCAL_ADDRESS/24" dev "$LOCAL_LINK"
  ip -n "$LOCAL_NS" link set "$LOCAL_LINK" up
  ip -n "$NS" addr add "$ADDRESS/24" dev "$REMOTE_LINK"
  ip -n "$NS" link set "$REMOTE_LINK" up

  ip netns exec "$NS" unshare --mount --propagation private -- bash "$0" _inside

  local deadline=$((SECONDS + TIMEOUT))
  until virsh_remote version >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "the remote libvirtd did not answer over SSH within ${TIMEOUT}s; run '$0 down'"
    sleep 0.2
  done
  say "up in $((SECONDS - started))s: namespace $NS ($ADDRESS), libvirtd PID $(live_pid "$DIR/libvirtd.pid" libvirtd), sshd PID $(live_pid "$DIR/sshd.pid" sshd)"
  cmd_env
}

cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local pid comm name
  if live_pid "$DIR/libvirtd.pid" libvirtd >/dev/null && live_pid "$DIR/sshd.pid" sshd >/dev/null; then
    for name in $(virsh_remote list --name --state-running --state-paused 2>/dev/null || true); do
      virsh_remote destroy "$name" >/dev/null 2>&1 || say "could not destroy domain $name"
    done
    for name in $(virsh_remote net-list --name 2>/dev/null || true); do
      virsh_remote net-destroy "$name" >/dev/null 2>&1 || say "could not stop network $name"
    done
  fi
  if [[ -e /run/netns/$NS ]]; then
    for pid in $(ip netns pids "$NS" 2>/dev/null || true); do
      comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
      case $comm in
        # sshd: the sessions of clients still connected (a provider's master connection) outlive the listener.
        qemu-system-*|dnsmasq|swtpm|sshd) stop_pid "$pid" 5 "$comm" ;;
      esac
    done
  fi
  pid=$(live_pid "$DIR/sshd.pid" sshd || true)
  [[ -z $pid ]] || stop_pid "$pid" 5 sshd
  pid=$(live_pid "$DIR/libvirtd.pid" libvirtd || true)
  [[ -z $pid ]] || stop_pid "$pid" 15 libvirtd
  pid=$(live_pid "$DIR/virtlogd.pid" virtlogd || true)
  [[ -z $pid ]] || stop_pid "$pid" 10 virtlogd
  if [[ -e /run/netns/$NS ]]; then
    local left
    left=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ' || true)
    [[ -z $left ]] || say "note: processes still in namespace $NS (not started by this script): $left"
    ip netns delete "$NS" || say "could not delete namespace $NS"
  fi
  # The veth pair goes with the namespace; its first end would stay only if the namespace could not be deleted.
  [[ ! -e /run/netns/$LOCAL_NS ]] || ip -n "$LOCAL_NS" link delete "$LOCAL_LINK" 2>/dev/null || true
  rm -rf "$DIR"
  say "down: namespace $NS"
}

cmd_status() {
  local quiet=0
  [[ ${1:-} == --quiet ]] && quiet=1
  if is_up; then
    ((quiet)) || echo "up: namespace $NS, $(uri), libvirtd PID $(live_pid "$DIR/libvirtd.pid" libvirtd), sshd PID $(live_pid "$DIR/sshd.pid" sshd)"
    return 0
  fi
  ((quiet)) || echo "down"
  return 1
}

# The host's mount namespace is its sshd's: libvirtd starts again inside it, with the same private /run and dirs.
cmd_libvirtd() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local pid sshd
  case ${1:-} in
    kill)
      pid=$(live_pid "$DIR/libvirtd.pid" libvirtd) || die "libvirtd is not running"
      kill -KILL "$pid"
      say "libvirtd PID $pid killed"
      ;;
    start)
      ! live_pid "$DIR/libvirtd.pid" libvirtd >/dev/null || die "libvirtd is running already"
      sshd=$(live_pid "$DIR/sshd.pid" sshd) || die "the host's sshd is not running; run '$0 down' and '$0 up'"
      nsenter --mount="/proc/$sshd/ns/mnt" --net="/run/netns/$NS" -- libvirtd -d -p "$DIR/libvirtd.pid"
      local deadline=$((SECONDS + TIMEOUT))
      until virsh_remote version >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "libvirtd did not answer within ${TIMEOUT}s"
        sleep 0.2
      done
      say "libvirtd PID $(live_pid "$DIR/libvirtd.pid" libvirtd) started"
      ;;
    *) die "usage: $0 libvirtd kill|start" ;;
  esac
}

cmd_env() {
  echo "TESTENV_VM_REMOTE_URI=$(uri)"
  echo "TESTENV_VM_REMOTE_ADDRESS=$ADDRESS"
  echo "TESTENV_VM_REMOTE_SSH_KEY=$DIR/client/id_ed25519"
  echo "TESTENV_VM_REMOTE_KNOWN_HOSTS=$DIR/client/known_hosts"
  echo "TESTENV_VM_REMOTE_NETNS=$NS"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) shift; cmd_status "$@" ;;
  env) cmd_env ;;
  libvirtd) shift; cmd_libvirtd "$@" ;;
  _inside) inside ;;
  *) echo "usage: $0 up|down|status [--quiet]|env|libvirtd kill|start" >&2; exit 2 ;;
esac
