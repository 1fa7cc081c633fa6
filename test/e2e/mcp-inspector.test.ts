import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORCHESTRATOR_BIN } from "../helpers/mcp.js";
import { startSshServer, type LoopbackSshServer } from "./client-ssh-server.js";
import { sandbox, testID, type Json, type Sandbox } from "./env.js";

// A real outside client: MCP Inspector in CLI mode (`mcp-inspector --cli <server command> --method ...`), one
// server process per call, as a person or a CI job would drive it. Skipped, saying why, when the package is absent.

const run = promisify(execFile);

function inspectorBin(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const manifest = require.resolve("@modelcontextprotocol/inspector/package.json");
    const { bin } = require(manifest) as { bin: string | Record<string, string> };
    const relative = typeof bin === "string" ? bin : (bin["mcp-inspector"] ?? Object.values(bin)[0]);
    return relative === undefined ? undefined : join(dirname(manifest), relative);
  } catch {
    return undefined;
  }
}

const inspector = inspectorBin();
const SKIP_REASON = "@modelcontextprotocol/inspector is not installed (a devDependency the lead adds; 0.15.0 is the newest whose engines allow Node 20)";

describe.skipIf(inspector === undefined)(inspector === undefined ? `MCP Inspector CLI: skipped, ${SKIP_REASON}` : "MCP Inspector CLI", () => {
  let box: Sandbox;
  let server: LoopbackSshServer;
  const id = testID("inspector");

  async function inspect(args: string[]): Promise<Json> {
    const { stdout } = await run(
      process.execPath,
      [inspector ?? "", "--cli", "-e", `TESTENV_VM_STATE_DIR=${box.stateDir}`, "-e", "TESTENV_VM_LOG=warn", process.execPath, ORCHESTRATOR_BIN, "--mcp", ...args],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as Json;
  }

  const call = (tool: string, args: Record<string, unknown>): Promise<Json> =>
    inspect(["--method", "tools/call", "--tool-name", tool, ...Object.entries(args).flatMap(([key, value]) => ["--tool-arg", `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`])]);

  beforeAll(async () => {
    box = sandbox("inspector");
    mkdirSync(join(box.root, "home"), { recursive: true });
    server = await startSshServer({ home: join(box.root, "home") });
  });

  afterAll(async () => {
    await server?.close();
    box?.[Symbol.dispose]();
  });

  it("lists the tools, then creates, runs a command in and deletes an environment", async () => {
    const { tools } = (await inspect(["--method", "tools/list"])) as { tools: Json[] };
    expect(tools.map((t) => String(t.name))).toEqual(expect.arrayContaining(["create", "exec", "delete"]));

    const spec = {
      providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: box.store, writeKeyFiles: true, sshEndpoint: { host: server.host, port: server.port, user: "tester" } } }],
      keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
      vms: [{ name: "web", spec: { memory: 256, vcpus: 1, disk: { size: "1G" }, cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] } } }],
    };
    const created = await call("create", { testID: id, stage: "e2e", tmpDir: join(box.tmpDir, id), spec });
    expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    // The Inspector's CLI sends every tool argument as a string: the spec as JSON text, the command as a shell string.
    const executed = await call("exec", { testID: id, vm: "web", command: "echo from the inspector" });
    expect(executed.structuredContent).toMatchObject({ exitCode: 0, stdout: "from the inspector\n" });
    const deleted = await call("delete", { testID: id });
    expect(deleted.isError, JSON.stringify(deleted.content)).toBeFalsy();
    expect(box.stateFiles()).toEqual([]);
  });
});
