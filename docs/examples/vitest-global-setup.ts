// Example for docs/client.md: a vitest globalSetup file (e.g. test/e2e/global-setup.ts), type-checked in CI.
// Your code imports from "testenv-vm/vitest". In vitest.config.ts: test.globalSetup: ["test/e2e/global-setup.ts"].
import { setupTestEnv } from "../../src/vitest/index.js";

// Creates the environment of forge.yaml's testenv entry "vm-env" once per run; deletes it after the run, also when
// tests fail or the creation fails half-way. TESTENV_VM_KEEP=1 keeps it for debugging.
export default setupTestEnv({ spec: "forge.yaml", name: "vm-env" });
