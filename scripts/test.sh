#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, layering, typecheck, schema drift, unit, e2e (stub), podman, then the libvirt
# stages (integration, e2e_libvirt) inside a network namespace when this machine can run them.
# In CI (CI=true) a machine that cannot run the libvirt stages is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "lint"
npm run --silent lint
step "layers (dependency-cruiser)"
npm run --silent check:layers
step "typecheck"
npm run --silent typecheck
step "build"
npm run --silent build
export TESTENV_VM_SKIP_BUILD=1
step "unit"
npx vitest run --project unit
step "e2e (stub provider, MCP over stdio)"
npx vitest run --project e2e

step "podman (real podman, each test file in its own network namespace)"
if command -v podman >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  npx vitest run --project podman
elif [[ "${CI:-}" == "true" ]]; then
  echo "test: the podman stage needs root and podman (scripts/setup.sh installs it)" >&2
  exit 1
else
  echo "test: podman stage skipped: needs root and podman"
fi

step "libvirt stages"
if reason=$(bash scripts/testhost.sh check 2>&1); then
  bash scripts/test-libvirt.sh
elif [[ "${CI:-}" == "true" || "${TESTENV_VM_REQUIRE_LIBVIRT:-}" == "1" ]]; then
  echo "test: the libvirt stages cannot run here: $reason" >&2
  exit 1
else
  echo "test: libvirt stages skipped: $reason"
fi
step "done"
