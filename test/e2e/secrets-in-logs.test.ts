import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectOrchestrator, textOf, type OrchestratorConnection } from "../helpers/mcp.js";
import { startSshServer, type LoopbackSshServer } from "./client-ssh-server.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// Issue 16, security: a whole create → exec → delete over MCP, logging at debug, and every log, console file, MCP
// result and stderr line it produced is searched for private key material and for the values passed as secrets
// (Forge's create env, rendered into the guest's cloud-init, and an exec's env). None may appear. The key files
// themselves and the state file (0600, the record of what was made) are what hold them on purpose.

const CREATE_SECRET = "create-secret-7f3a9c2e51";
const EXEC_SECRET = "exec-secret-b84d16e0c9";

/** Every file below dir, recursively. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesBelow(path) : entry.isFile() ? [path] : [];
  });
}

describe("no secrets in logs", () => {
  let box: Sandbox;
  let server: LoopbackSshServer;
  let mcp: OrchestratorConnection;
  const id = testID("secrets");
  const seen: { where: string; text: string }[] = [];

  beforeAll(async () => {
    box = sandbox("secrets");
    const home = join(box.root, "home");
    mkdirSync(home, { recursive: true });
    server = await startSshServer({ home });
    mcp = await connectOrchestrator({ env: { ...box.env, TESTENV_VM_LOG: "debug" } });
  });

  afterAll(async () => {
    await mcp?.close();
    await server?.close();
    box?.[Symbol.dispose]();
  });

  it("a create → exec → delete at debug level writes neither key material nor a secret to any log, console or result", async () => {
    const tmpDir = join(box.tmpDir, id);
    const spec = {
      providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: box.store, writeKeyFiles: true, consoleLog: true, sshEndpoint: { host: server.host, port: server.port, user: "tester" } } }],
      keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
      networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
      vms: [
        {
          name: "web",
          spec: {
            memory: 512,
            vcpus: 1,
            networks: ["net"],
            disk: { size: "1G" },
            cloudInit: {
              users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }],
              writeFiles: [{ path: "/etc/app/token", content: "{{ .Env.APP_TOKEN }}", permissions: "0600" }],
            },
          },
        },
      ],
    };
    const created = await mcp.call("create", { testID: id, stage: "e2e", tmpDir, metadata: {}, env: { APP_TOKEN: CREATE_SECRET }, spec });
    expect(created.isError, textOf(created)).toBeFalsy();
    seen.push({ where: "create result", text: JSON.stringify(created) });
    const artifact = created.structuredContent as Json;
    const keyPath = join(tmpDir, artifact.files["testenv-vm.key.vm-ssh"] as string);
    const privateKey = readFileSync(keyPath, "utf8");
    expect(privateKey).toContain("PRIVATE KEY");

    const exec = await mcp.call("exec", { testID: id, vm: "web", command: "test -n \"$API_TOKEN\" && echo token-present", env: { API_TOKEN: EXEC_SECRET } });
    expect(exec.isError, textOf(exec)).toBeFalsy();
    expect((exec.structuredContent as Json).stdout).toBe("token-present\n");
    seen.push({ where: "exec result", text: JSON.stringify(exec) });

    // Logs and console files of the environment, before delete removes its artifact dir.
    const keyFiles = new Set([keyPath, `${keyPath}.pub`]);
    for (const file of filesBelow(tmpDir)) {
      if (keyFiles.has(file) || statSync(file).size > 8 * 1024 * 1024) continue;
      seen.push({ where: file, text: readFileSync(file, "utf8") });
    }
    const deleted = await mcp.call("delete", { testID: id, metadata: artifact.metadata as Json });
    expect(deleted.isError, textOf(deleted)).toBeFalsy();
    seen.push({ where: "delete result", text: JSON.stringify(deleted) });
    seen.push({ where: "orchestrator stderr", text: mcp.stderr() });
    expect(seen.filter((entry) => entry.where.endsWith(".log")).length, "the environment wrote logs to search").toBeGreaterThan(0);
    expect(mcp.stderr().length, "debug logging reached stderr").toBeGreaterThan(0);

    // The private key's body (between its armour lines) in pieces long enough to mean a copy, and the secrets.
    const body = privateKey.split("\n").filter((line) => line !== "" && !line.startsWith("-----")).join("");
    const needles = [CREATE_SECRET, EXEC_SECRET, "PRIVATE KEY-----", body.slice(0, 40), body.slice(-40)];
    const found = seen.flatMap(({ where, text }) => needles.filter((needle) => text.includes(needle)).map((needle) => `${where}: ${needle.slice(0, 24)}`));
    expect(found).toEqual([]);
  });
});
