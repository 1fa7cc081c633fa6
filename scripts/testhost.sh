#!/usr/bin/env bash
# The libvirt test host: a private network namespace with its own virtlogd + libvirtd, so every bridge,
# dnsmasq and VM the libvirt stages create lives inside it and nothing touches the root namespace.
#
#   testhost.sh up       create the namespace, start virtlogd + libvirtd in it, wait until libvirt answers
#   testhost.sh down     stop what `up` started (by recorded PID), delete the namespace; best effort
#   testhost.sh status   print what is up; exit 0 when up (add --quiet to print nothing)
#   testhost.sh exec -- CMD...   run CMD inside the namespace with the current environment
#   testhost.sh check    exit 0 when the libvirt stages can run on this machine (else say why, exit 1)
#
# Env: TESTENV_VM_NETNS (default tvmtest), TESTENV_VM_TESTHOST_DIR (default /run/testenv-vm-testhost),
#      TESTENV_VM_TESTHOST_TIMEOUT (seconds to wait for libvirtd, default 60),
#      TESTENV_VM_TESTHOST_REAPER=1: start libvirtd under scripts/subreaper.py, for a PID 1 that reaps orphans late.
set -euo pipefail

NS=${TESTENV_VM_NETNS:-tvmtest}
STATE_DIR=${TESTENV_VM_TESTHOST_DIR:-/run/testenv-vm-testhost}
TIMEOUT=${TESTENV_VM_TESTHOST_TIMEOUT:-60}
LIBVIRTD_PID_FILE=$STATE_DIR/libvirtd.pid
VIRTLOGD_PID_FILE=$STATE_DIR/virtlogd.pid
LIBVIRT_URI=qemu:///system

say() { echo "testhost: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $NS =~ ^[A-Za-z0-9_.-]{1,32}$ ]] || die "TESTENV_VM_NETNS='$NS' is not a valid namespace name ([A-Za-z0-9_.-], at most 32 chars)"

ns_exists() { [[ -e /run/netns/$NS ]]; }

# shellcheck source=scripts/lib/pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pids.sh"

# PIDs of running processes named $1 (exact comm), whichever namespace they are in.
pids_named() {
  local comm=$1 d
  for d in /proc/[0-9]*; do
    # A zombie is not a daemon: the one a test host just stopped stays one until PID 1 reaps it.
    [[ -r $d/comm && $(cat "$d/comm" 2>/dev/null) == "$comm" ]] && alive "${d#/proc/}" && echo "${d#/proc/}"
  done
  return 0
}

libvirt_answers() { timeout 10 virsh -q -c "$LIBVIRT_URI" version >/dev/null 2>&1; }

VIRTLOGD_SOCKET=/run/libvirt/virtlogd-sock

is_up() {
  ns_exists && live_pid "$LIBVIRTD_PID_FILE" libvirtd >/dev/null && live_pid "$VIRTLOGD_PID_FILE" virtlogd >/dev/null \
    && [[ -S $VIRTLOGD_SOCKET ]] && libvirt_answers
}

# Daemons that would collide with ours on /run/libvirt sockets: any we did not start.
foreign_daemons() {
  local comm pid ours
  for comm in libvirtd virtlogd virtqemud virtnetworkd; do
    ours=$(live_pid "$STATE_DIR/$comm.pid" "$comm" || true)
    for pid in $(pids_named "$comm"); do
      [[ $pid == "$ours" ]] || echo "$comm PID $pid"
    done
  done
}

# Without udev, /dev/kvm stays 0600 root. libvirt probes QEMU as root (KVM found) but then checks
# /dev/kvm as libvirt-qemu (no access), declares its capability cache stale and re-probes QEMU on
# every API call: a define then takes a minute on a loaded host. The fix is what udev would do on
# a normal Debian host (0660 root:kvm), applied only inside libvirtd's own mount namespace.
kvm_needs_group_access() {
  [[ -c /dev/kvm ]] && id libvirt-qemu >/dev/null 2>&1 \
    && ! runuser -u libvirt-qemu -- test -r /dev/kvm -a -w /dev/kvm 2>/dev/null
}

# Runs the command that starts libvirtd (-d): as it is, or under a subreaper that reaps libvirt's orphaned qemu
# processes at once; libvirt counts a killed qemu as gone only once it is reaped (scripts/subreaper.py says why).
start_libvirtd() {
  if [[ ${TESTENV_VM_TESTHOST_REAPER:-0} == 1 ]]; then
    setsid python3 "$(dirname "$0")/subreaper.py" "$@" </dev/null >/dev/null 2>&1 &
    say "libvirtd starts under a subreaper (PID $!)"
  else
    "$@"
  fi
}

# Runs inside `unshare --mount`: bind a 0660 root:kvm node for /dev/kvm, then start libvirtd.
start_libvirtd_kvm_shim() {
  local shim=$STATE_DIR/dev group major minor
  group=$(getent group kvm >/dev/null && echo kvm || id -gn libvirt-qemu)
  read -r major minor < <(stat -c '%t %T' /dev/kvm)
  mkdir -p "$shim"
  mount -t tmpfs -o mode=0755,size=64k tmpfs "$shim"
  mknod -m 0660 "$shim/kvm" c $((16#$major)) $((16#$minor))
  chgrp "$group" "$shim/kvm"
  mount --bind "$shim/kvm" /dev/kvm
  exec libvirtd -d -p "$LIBVIRTD_PID_FILE"
}

cmd_check() {
  local missing=() tool
  [[ $(id -u) -eq 0 ]] || die "not root: the test host needs root for 'ip netns' and libvirtd"
  for tool in ip virsh libvirtd virtlogd qemu-img qemu-system-x86_64 xorriso; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (run scripts/setup.sh)"
  [[ -e /dev/kvm ]] || say "note: no /dev/kvm; guests will run under TCG (domain type 'qemu'), which is what the tests use"
  if ! is_up; then
    local foreign
    foreign=$(foreign_daemons)
    [[ -z $foreign ]] || die "a libvirt daemon not started by testhost.sh is running (${foreign//$'\n'/, }); stop it first"
  fi
  return 0
}

cmd_up() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (ip netns, libvirtd)"
  if is_up; then
    say "already up: namespace $NS, libvirtd PID $(live_pid "$LIBVIRTD_PID_FILE" libvirtd)"
    return 0
  fi
  local foreign
  foreign=$(foreign_daemons)
  if [[ -n $foreign ]]; then
    die "refusing to start: a libvirt daemon not started by testhost.sh is running (${foreign//$'\n'/, }).
  Stop it first (e.g. 'systemctl stop libvirtd' or 'kill <PID>'), or run 'scripts/testhost.sh down' if it is a
  leftover of an earlier test host."
  fi
  mkdir -p "$STATE_DIR"
  chmod 0755 "$STATE_DIR"
  if ! ns_exists; then
    ip netns add "$NS"
    echo "$NS" > "$STATE_DIR/netns"
  fi
  ip netns exec "$NS" ip link set lo up

  # virtlogd first: without systemd it is not socket-activated, and <serial><log file=...> needs it.
  local stale
  stale=$(live_pid "$VIRTLOGD_PID_FILE" virtlogd || true)
  if [[ -n $stale && ! -S $VIRTLOGD_SOCKET ]]; then
    # Ours but its socket is gone (another virtlogd started and exited): restart it.
    say "virtlogd PID $stale lost its socket; restarting it"
    stop_pid "$stale" 10 virtlogd
  fi
  if ! live_pid "$VIRTLOGD_PID_FILE" virtlogd >/dev/null; then
    rm -f "$VIRTLOGD_PID_FILE"
    ip netns exec "$NS" virtlogd -d -p "$VIRTLOGD_PID_FILE"
  fi
  stale=$(live_pid "$LIBVIRTD_PID_FILE" libvirtd || true)
  if [[ -n $stale ]] && ! libvirt_answers; then
    # Ours but deaf (e.g. its socket was unlinked by another libvirtd that started and exited): restart it.
    say "libvirtd PID $stale does not answer; restarting it"
    stop_pid "$stale" 15 libvirtd
  fi
  if ! live_pid "$LIBVIRTD_PID_FILE" libvirtd >/dev/null; then
    rm -f "$LIBVIRTD_PID_FILE"
    if kvm_needs_group_access; then
      say "/dev/kvm is not accessible to libvirt-qemu; giving libvirtd a private view of it (0660 root:kvm)"
      start_libvirtd ip netns exec "$NS" unshare --mount --propagation private -- bash "$0" _start-libvirtd-kvm-shim
    else
      start_libvirtd ip netns exec "$NS" libvirtd -d -p "$LIBVIRTD_PID_FILE"
    fi
  fi

  local deadline=$((SECONDS + TIMEOUT))
  until libvirt_answers; do
    if ((SECONDS >= deadline)); then
      die "libvirtd did not answer 'virsh -c $LIBVIRT_URI version' within ${TIMEOUT}s.
  Look at 'journalctl' or /var/log/libvirt/libvirtd.log, then run 'scripts/testhost.sh down'."
    fi
    live_pid "$LIBVIRTD_PID_FILE" libvirtd >/dev/null || [[ ! -s $LIBVIRTD_PID_FILE ]] \
      || die "libvirtd exited right after start; see /var/log/libvirt/libvirtd.log, then run 'scripts/testhost.sh down'"
    sleep 0.2
  done
  # Debian defines a 'default' NAT network; it is only started when autostart is set, and even then it
  # would live inside this namespace. Say so rather than editing system config.
  if [[ -e /etc/libvirt/qemu/networks/autostart/default.xml ]]; then
    say "note: libvirt network 'default' is set to autostart; it runs inside namespace $NS only"
  fi
  say "up: namespace $NS, virtlogd PID $(live_pid "$VIRTLOGD_PID_FILE" virtlogd), libvirtd PID $(live_pid "$LIBVIRTD_PID_FILE" libvirtd)"
}

# Stop running domains and networks through libvirt first, so its own state under /run/libvirt stays
# consistent; returns the names of the networks that were active.
stop_libvirt_objects() {
  libvirt_answers || return 0
  local name
  for name in $(timeout 20 virsh -q -c "$LIBVIRT_URI" list --name --state-running --state-paused 2>/dev/null || true); do
    timeout 20 virsh -q -c "$LIBVIRT_URI" destroy "$name" >/dev/null 2>&1 || say "could not destroy domain $name"
  done
  for name in $(timeout 20 virsh -q -c "$LIBVIRT_URI" net-list --name 2>/dev/null || true); do
    echo "$name" >> "$STATE_DIR/networks-active"
    timeout 20 virsh -q -c "$LIBVIRT_URI" net-destroy "$name" >/dev/null 2>&1 || say "could not stop network $name"
  done
}

cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local pid comm name
  if live_pid "$LIBVIRTD_PID_FILE" libvirtd >/dev/null; then
    stop_libvirt_objects || true
  fi
  # Helpers libvirt started inside the namespace that are still running (found by namespace, stopped by PID).
  if ns_exists; then
    for pid in $(ip netns pids "$NS" 2>/dev/null || true); do
      comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
      case $comm in
        qemu-system-*|dnsmasq|swtpm) stop_pid "$pid" 5 "$comm" ;;
      esac
    done
  fi
  pid=$(live_pid "$LIBVIRTD_PID_FILE" libvirtd || true)
  [[ -z $pid ]] || stop_pid "$pid" 15 libvirtd
  pid=$(live_pid "$VIRTLOGD_PID_FILE" virtlogd || true)
  [[ -z $pid ]] || stop_pid "$pid" 10 virtlogd
  rm -f "$LIBVIRTD_PID_FILE" "$VIRTLOGD_PID_FILE"
  # Run-time state of networks that were active in our libvirtd (stale once the namespace is gone).
  if [[ -s $STATE_DIR/networks-active ]]; then
    while read -r name; do
      [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || continue
      rm -f "/run/libvirt/network/$name.xml" "/run/libvirt/network/$name.pid"
    done < "$STATE_DIR/networks-active"
    rm -f "$STATE_DIR/networks-active"
  fi
  if ns_exists; then
    local left
    left=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ' || true)
    [[ -z $left ]] || say "note: processes still in namespace $NS (not stopped, not started by testhost.sh): $left"
    ip netns delete "$NS" || say "could not delete namespace $NS"
  fi
  rm -f "$STATE_DIR/netns"
  rmdir "$STATE_DIR/dev" "$STATE_DIR" 2>/dev/null || true
  say "down: namespace $NS"
}

cmd_status() {
  local quiet=0
  [[ ${1:-} == --quiet ]] && quiet=1
  if is_up; then
    if ((quiet == 0)); then
      echo "namespace: $NS"
      echo "virtlogd:  PID $(live_pid "$VIRTLOGD_PID_FILE" virtlogd)"
      echo "libvirtd:  PID $(live_pid "$LIBVIRTD_PID_FILE" libvirtd) ($(virsh -q -c "$LIBVIRT_URI" version 2>/dev/null | awk 'tolower($0) ~ /running hypervisor/{print $(NF-1), $NF}' || true))"
      echo "domains:   $(virsh -q -c "$LIBVIRT_URI" list --all --name 2>/dev/null | tr '\n' ' ')"
      echo "networks:  $(virsh -q -c "$LIBVIRT_URI" net-list --all --name 2>/dev/null | tr '\n' ' ')"
      echo "processes in namespace: $(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ')"
    fi
    return 0
  fi
  if ((quiet == 0)); then
    echo "down (namespace $NS: $(ns_exists && echo present || echo absent);" \
      "libvirtd: $(live_pid "$LIBVIRTD_PID_FILE" libvirtd || echo not running);" \
      "virtlogd: $(live_pid "$VIRTLOGD_PID_FILE" virtlogd || echo not running))"
  fi
  return 1
}

cmd_exec() {
  [[ ${1:-} == -- ]] && shift
  (($# > 0)) || die "usage: testhost.sh exec -- CMD [ARGS...]"
  ns_exists || die "namespace $NS does not exist; run 'scripts/testhost.sh up' first"
  # nsenter switches the network namespace only. `ip netns exec` also remounts /sys, which leaves podman (and runc)
  # without cgroups; nothing here reads /sys/class/net (links are asked over netlink).
  exec nsenter --net="/run/netns/$NS" -- "$@"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) shift; cmd_status "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  check) cmd_check ;;
  _start-libvirtd-kvm-shim) start_libvirtd_kvm_shim ;;
  *) echo "usage: $0 up|down|status [--quiet]|check|exec -- CMD..." >&2; exit 2 ;;
esac
