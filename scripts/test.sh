#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, typecheck, schema drift, unit, e2e (stub),
# then the libvirt stages inside a network namespace when the host can run them.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent lint
npm run --silent typecheck
npm run --silent build
export TESTENV_VM_SKIP_BUILD=1
npx vitest run --project unit
npx vitest run --project e2e
