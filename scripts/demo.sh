#!/usr/bin/env bash
# The main job: create the example environment on the best provider available here, use it, delete it.
# libvirt (real VMs, inside the test host's network namespace) when this machine can run it, else the stub.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run --silent build
cli() { node dist/src/bin.js "$@"; }
id="demo-$(date +%Y%m%d-%H%M%S)"
workdir=$(mktemp -d)

if reason=$(bash scripts/testhost.sh check 2>&1); then
  echo "demo: libvirt is available: creating a real environment (key, bridge, libvirt network, VM) in network namespace ${TESTENV_VM_NETNS:-tvmtest}"
  started=0
  if ! bash scripts/testhost.sh status --quiet; then
    bash scripts/testhost.sh up
    started=1
  fi
  finish() {
    [[ -f "$workdir/created" ]] && bash scripts/testhost.sh exec -- node dist/src/bin.js delete --id "$id" --quiet || true
    if ((started)); then bash scripts/testhost.sh down || true; fi
    rm -rf "$workdir"
  }
  trap finish EXIT
  bash scripts/images/build.sh tiny
  images=${TESTENV_VM_TEST_IMAGES_DIR:-/var/cache/testenv-vm/test-images}
  TESTENV_VM_BASE_IMAGE="$(readlink -f "$images/tiny")/tiny.qcow2"
  export TESTENV_VM_BASE_IMAGE
  bash scripts/testhost.sh exec -- node dist/src/bin.js create --name testenv-vm-libvirt --id "$id" --json >"$workdir/artifact.json"
  touch "$workdir/created"
  ip=$(node -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(a.metadata["testenv-vm.vm.test-vm.ip"])' "$workdir/artifact.json")
  key=$(node -e 'const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(a.env.TESTENV_KEY_VM_SSH_PRIVATE_PATH)' "$workdir/artifact.json")
  echo "demo: VM test-vm is at $ip; logging in with the environment's key"
  bash scripts/testhost.sh exec -- ssh -i "$key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    "root@$ip" 'echo "hello from $(hostname), kernel $(uname -r)"'
  bash scripts/testhost.sh exec -- node dist/src/bin.js status --id "$id"
  bash scripts/testhost.sh exec -- node dist/src/bin.js delete --id "$id"
  rm -f "$workdir/created"
else
  echo "demo: libvirt is not usable here (${reason//$'\n'/; }): using the stub provider"
  trap 'rm -rf "$workdir"' EXIT
  cli create --name testenv-vm --id "$id"
  cli status --id "$id"
  cli delete --id "$id"
fi
echo "demo: done; nothing is left behind"
