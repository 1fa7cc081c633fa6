#!/usr/bin/env bash
# The libvirt test stages: bring up the test host (network namespace + libvirtd), build or reuse the
# cached guest images, then run the integration and e2e_libvirt vitest projects inside the namespace.
# A test host that is already up (a dev session, another run) is reused and left running.
#
# Env: TESTENV_VM_TEST_IMAGES (default "tiny pxe debian-ci"), TESTENV_VM_TEST_IMAGES_DIR,
#      TESTENV_VM_REQUIRE_TESTHOST (default 1: a suite that cannot reach the test host fails),
#      TESTENV_VM_TESTHOST_REAPER (default 1 here: libvirtd under scripts/subreaper.py, see scripts/testhost.sh).
#      Extra arguments are passed to each vitest run (e.g. a test file filter).
set -euo pipefail
cd "$(dirname "$0")/.."
TH=scripts/testhost.sh

bash "$TH" check
# Where PID 1 reaps orphans late (this sandbox's does, by ~1.7 s), every virsh destroy waits for it: the stages
# start libvirtd under a subreaper unless told not to.
export TESTENV_VM_TESTHOST_REAPER=${TESTENV_VM_TESTHOST_REAPER:-1}
started=0
if ! bash "$TH" status --quiet; then
  bash "$TH" up
  started=1
fi
# The second (remote) host is started by the tests that need it; one left by a failed run goes with the stage.
cleanup() {
  if [[ -e /run/netns/${TESTENV_VM_REMOTE_NETNS:-tvmremote} ]]; then bash scripts/testhost-remote.sh down || true; fi
  if ((started)); then bash "$TH" down || true; fi
}
trap cleanup EXIT

export TESTENV_VM_TEST_IMAGES_DIR=${TESTENV_VM_TEST_IMAGES_DIR:-/var/cache/testenv-vm/test-images}
# shellcheck disable=SC2086  # a list of image names
bash scripts/images/build.sh ${TESTENV_VM_TEST_IMAGES:-tiny pxe debian-ci}
export TESTENV_VM_REQUIRE_TESTHOST=${TESTENV_VM_REQUIRE_TESTHOST:-1}

# With a file filter, a stage may legitimately match nothing.
if (($# > 0)); then set -- --passWithNoTests "$@"; fi
has_tests() { [[ -d $1 ]] && [[ -n $(find "$1" -name '*.test.ts' -print -quit) ]]; }
if has_tests test/integration; then
  bash "$TH" exec -- npx vitest run --project integration "$@"
fi
if has_tests test/e2e-libvirt; then
  bash "$TH" exec -- npx vitest run --project e2e_libvirt "$@"
fi
