import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { storedResources } from "../helpers/stub-store.js";

// A project folder with a forge.yaml and no .env: the verbs use that testenv-vm spec (issue 8), here on the stub
// provider with two VMs. up, up again, stop, start, an edited forge.yaml refused, rm — each a fresh process.

const cli = (cwd: string, ...args: string[]) => runCli(cwd, args);

function forgeYaml(store: string, memory: number): string {
  return `# a Forge project: its testenv entry is all the folder verbs need
testenv:
  - name: lab
    engine: go://github.com/alexandremahdhaoui/testenv-vm
    spec:
      providers:
        - name: stub
          engine: testenv-vm-provider-stub
          spec: { store: ${JSON.stringify(store)} }
      keys:
        - name: login
          spec: { type: ed25519 }
      vms:
        - name: web
          spec:
            memory: ${memory}
            vcpus: 1
            disk: { size: 2G }
            cloudInit: { users: [{ name: ops, sshAuthorizedKeys: ["{{ .Keys.login.PublicKey }}"] }] }
        - name: db
          spec: { memory: 256, vcpus: 1, disk: { size: 1G } }
`;
}

describe("project folder with forge.yaml and no .env (stub)", () => {
  let root: string;
  let folder: string;
  let store: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "testenv-vm-forge-project-"));
    folder = join(root, "lab");
    mkdirSync(folder);
    store = join(root, "stub-store.json");
    writeFileSync(join(folder, "forge.yaml"), forgeYaml(store, 512));
  });
  afterAll(async () => {
    if (existsSync(join(folder, ".testenv-vm"))) await cli(folder, "rm");
    rmSync(root, { recursive: true, force: true });
  });

  it("up creates the forge.yaml spec's environment as the folder's instance", async () => {
    const result = await cli(folder, "up", "--json");
    expect(result.code, result.stderr || result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ instance: expect.stringMatching(/^lab-[0-9a-f]{6}$/) as unknown, action: "created", status: "running" });
    expect(storedResources(store).filter((entry) => entry.startsWith("vm/"))).toHaveLength(2);
    expect(existsSync(join(folder, ".testenv-vm", "state"))).toBe(true);
    const again = await cli(folder, "up", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: "already-running" });
    expect(storedResources(store).filter((entry) => entry.startsWith("vm/"))).toHaveLength(2);
  });

  it("stop stops every VM of the spec; status reads the first one live; start brings them back", async () => {
    const stopped = await cli(folder, "stop", "--json");
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ status: "stopped" });
    const status = await cli(folder, "status", "--json");
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "stopped" });
    const started = await cli(folder, "start", "--json");
    expect(started.code, started.stderr).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ status: "running" });
  });

  it("an edited forge.yaml is named and refused, like an edited .env; nothing changes", async () => {
    writeFileSync(join(folder, "forge.yaml"), forgeYaml(store, 768));
    const result = await cli(folder, "up");
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/was created from a different forge\.yaml:\n\s+forge\.yaml: "sha256:[0-9a-f]{16}" → "sha256:[0-9a-f]{16}"/);
    expect(result.stderr).toContain("up --recreate");
    writeFileSync(join(folder, "forge.yaml"), forgeYaml(store, 512));
  });

  it("rm removes the environment and .testenv-vm; the stub holds nothing", async () => {
    const removed = await cli(folder, "rm", "--json");
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ removed: true });
    expect(existsSync(join(folder, ".testenv-vm"))).toBe(false);
    expect(storedResources(store)).toEqual([]);
  });

  it("a folder with neither .env nor forge.yaml says both are missing", async () => {
    const empty = join(root, "empty");
    mkdirSync(empty);
    const result = await cli(empty, "up");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("does not exist (nor does forge.yaml): run testenv-vm init");
  });
});
