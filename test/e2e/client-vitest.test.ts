import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStubStore } from "../helpers/stub-store.js";
import { startSshServer, type LoopbackSshServer } from "./client-ssh-server.js";

// testenv-vm/vitest in a real, separate vitest run: a project whose globalSetup is setupTestEnv and whose test file
// uses useTestEnv. The environment must exist during the run and be gone afterwards, whatever happened.

const repo = resolve(import.meta.dirname, "../..");
const vitestHelper = pathToFileURL(join(repo, "dist/src/vitest/index.js")).href;
const root = mkdtempSync(join(tmpdir(), "testenv-vitest-"));
let server: LoopbackSshServer;

interface Run {
  code: number;
  output: string;
}

function project(name: string, options: { failingTest?: boolean; failingCreate?: boolean }): { dir: string; store: string; stateDir: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
  const store = join(dir, "stub-store.json");
  const stateDir = join(dir, "state");
  const spec = {
    providers: [
      {
        name: "stub",
        engine: "testenv-vm-provider-stub",
        spec: {
          store,
          writeKeyFiles: true,
          sshEndpoint: { host: server.host, port: server.port, user: "tester" },
          ...(options.failingCreate ? { faults: [{ tool: "vm_create", code: "PROVIDER_ERROR", message: "injected failure" }] } : {}),
        },
      },
    ],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
    vms: [
      {
        name: "web",
        spec: { memory: 512, vcpus: 1, networks: ["net"], disk: { size: "1G" }, cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] } },
      },
    ],
  };
  // forge.yaml as Forge reads it (JSON is YAML).
  const forgeYaml = { engines: [{ alias: "vm-env", type: "testenv", testenv: [{ engine: "go://github.com/alexandremahdhaoui/testenv-vm/cmd/testenv-vm", deferTemplates: true, spec }] }] };
  writeFileSync(join(dir, "forge.yaml"), JSON.stringify(forgeYaml, null, 2));
  writeFileSync(
    join(dir, "global-setup.mjs"),
    `import { setupTestEnv } from ${JSON.stringify(vitestHelper)};\nexport default setupTestEnv({ spec: "forge.yaml", name: "vm-env" });\n`,
  );
  writeFileSync(
    join(dir, "vitest.config.mjs"),
    `export default { test: { include: ["*.test.mjs"], globalSetup: ["./global-setup.mjs"], testTimeout: 60000, hookTimeout: 120000 } };\n`,
  );
  writeFileSync(
    join(dir, "vm.test.mjs"),
    [
      `import { expect, inject, it } from "vitest";`,
      `import { useTestEnv } from ${JSON.stringify(vitestHelper)};`,
      `const env = await useTestEnv();`,
      `it("reaches the VM", async () => {`,
      `  const result = await env.vm("web").exec(["echo", "hello from", inject("testenvVm").testID]);`,
      `  expect(result.stdout).toBe("hello from " + env.testID + "\\n");`,
      `  expect(env.testID).toMatch(/^test-vm-env-\\d{8}-[0-9a-f]{8}$/);`,
      `});`,
      options.failingTest ? `it("fails on purpose", () => { expect(1).toBe(2); });` : ``,
    ].join("\n"),
  );
  return { dir, store, stateDir };
}

function runVitest(dir: string, stateDir: string): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && key !== "NODE_ENV" && key !== "TEST"));
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [join(repo, "node_modules/vitest/vitest.mjs"), "run", "--root", dir, "--config", join(dir, "vitest.config.mjs")],
      { cwd: dir, env: { ...env, TESTENV_VM_STATE_DIR: stateDir }, timeout: 300_000 },
      (error, stdout, stderr) => resolveRun({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

const leftovers = (store: string, stateDir: string): string[] => {
  const data = readStubStore(store);
  const stateFiles = existsSync(join(stateDir, "state")) ? readdirSync(join(stateDir, "state")).filter((f) => f.endsWith(".json")) : [];
  return [...Object.keys(data?.keys ?? {}), ...Object.keys(data?.networks ?? {}), ...Object.keys(data?.vms ?? {}), ...stateFiles];
};

beforeAll(async () => {
  const home = join(root, "home");
  mkdirSync(home);
  server = await startSshServer({ home });
});

afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("testenv-vm/vitest", () => {
  it("creates the environment once for the run, tests reach it through inject, and teardown deletes it", async () => {
    const { dir, store, stateDir } = project("passing", {});
    const run = await runVitest(dir, stateDir);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("1 passed");
    expect(readStubStore(store)).toBeDefined();
    expect(leftovers(store, stateDir)).toEqual([]);
    // The tmpDir is gone, and so is the .forge/tmp it was created in.
    expect(existsSync(join(dir, ".forge", "tmp"))).toBe(false);
  });

  it("deletes the environment when a test fails", async () => {
    const { dir, store, stateDir } = project("failing-test", { failingTest: true });
    const run = await runVitest(dir, stateDir);
    expect(run.code, run.output).not.toBe(0);
    expect(run.output).toContain("1 failed");
    expect(leftovers(store, stateDir)).toEqual([]);
  });

  it("leaves nothing behind when the creation itself fails, and reports the provider's error", async () => {
    const { dir, store, stateDir } = project("failing-create", { failingCreate: true });
    const run = await runVitest(dir, stateDir);
    expect(run.code, run.output).not.toBe(0);
    expect(run.output).toContain("injected failure");
    expect(leftovers(store, stateDir)).toEqual([]);
  });
});
