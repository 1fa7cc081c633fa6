#!/usr/bin/env bash
# The main job: a project folder with nothing but a .env, run through `testenv-vm up | ssh | stop | up | rm` with
# real libvirt VMs inside the test host's network namespace. Where libvirt cannot run, the forge.yaml example runs
# on the stub provider instead, and the demo says why.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run --silent build
cli() { node "$PWD/dist/src/bin.js" "$@"; }
workdir=$(mktemp -d /var/tmp/testenv-vm-demo-XXXXXX)
chmod 0755 "$workdir"

if reason=$(bash scripts/testhost.sh check 2>&1); then
  echo "demo: libvirt is available: a project folder in network namespace ${TESTENV_VM_NETNS:-tvmtest}"
  started=0
  if ! bash scripts/testhost.sh status --quiet; then
    bash scripts/testhost.sh up
    started=1
  fi
  # A user's machine has libvirt's `default` NAT network; the demo defines its own stand-in and removes it after.
  network="testenv-demo-$$"
  th() { bash scripts/testhost.sh exec -- "$@"; }
  finish() {
    [[ -d "$workdir/project/.testenv-vm" ]] && th node "$PWD/dist/src/bin.js" rm --dir "$workdir/project" --quiet || true
    th virsh -q -c qemu:///system net-destroy "$network" >/dev/null 2>&1 || true
    th virsh -q -c qemu:///system net-undefine "$network" >/dev/null 2>&1 || true
    if ((started)); then bash scripts/testhost.sh down || true; fi
    rm -rf "$workdir"
  }
  trap finish EXIT
  bash scripts/images/build.sh tiny
  images=${TESTENV_VM_TEST_IMAGES_DIR:-/var/cache/testenv-vm/test-images}
  cat >"$workdir/net.xml" <<XML
<network><name>$network</name><forward mode="nat"/><ip address="192.168.252.1" netmask="255.255.255.0"><dhcp><range start="192.168.252.10" end="192.168.252.99"/></dhcp></ip></network>
XML
  th virsh -q -c qemu:///system net-define "$workdir/net.xml" >/dev/null
  th virsh -q -c qemu:///system net-start "$network" >/dev/null
  mkdir -m 0755 "$workdir/project"
  cat >"$workdir/project/.env" <<ENV
INFRA_TYPE=vm
MEMORY=320
CPUS=1
DISK=2
NETWORK=$network
IMAGE=$(readlink -f "$images/tiny")/tiny.qcow2
SSH_USER=root
PROVISION_SCRIPT=provision.sh
ENV
  printf '#!/bin/sh\necho "provisioned $(hostname) at $(date)" > /boot/state/provisioned\nsync\n' >"$workdir/project/provision.sh"
  cd "$workdir/project"
  echo "demo: $ cat .env"; cat .env
  echo "demo: $ testenv-vm up"; th node "$OLDPWD/dist/src/bin.js" up
  echo "demo: $ testenv-vm ssh -- cat /boot/state/provisioned"; th node "$OLDPWD/dist/src/bin.js" ssh -- cat /boot/state/provisioned
  echo "demo: $ testenv-vm stop"; th node "$OLDPWD/dist/src/bin.js" stop
  echo "demo: $ testenv-vm up"; th node "$OLDPWD/dist/src/bin.js" up
  echo "demo: $ testenv-vm status"; th node "$OLDPWD/dist/src/bin.js" status
  echo "demo: $ testenv-vm metrics"; node "$OLDPWD/dist/src/bin.js" metrics
  echo "demo: $ testenv-vm rm"; th node "$OLDPWD/dist/src/bin.js" rm
  cd "$OLDPWD"
else
  echo "demo: libvirt is not usable here (${reason//$'\n'/; }): running the forge.yaml example on the stub provider"
  trap 'rm -rf "$workdir"' EXIT
  id="demo-$(date +%Y%m%d-%H%M%S)"
  cli create --name testenv-vm --id "$id"
  cli status --id "$id"
  cli delete --id "$id"
fi
echo "demo: done; nothing is left behind"
