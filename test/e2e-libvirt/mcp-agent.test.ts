import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureTestImages } from "../helpers/images.js";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { connectOrchestrator, createArgs, deleteIfLeft, fourResourceSpec, leakScope, readState, textOf, workspace, type Json, type OrchestratorConnection, type Workspace } from "./support.js";

// An agent's session on libvirt through one MCP server process: create (tiny image) → exec → write/read a file →
// the serial console → delete, and nothing is left.

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");
const LONG_CALL = 900_000;

describeIfTestHost("e2e_libvirt: an agent's MCP session", () => {
  let ws: Workspace;
  let mcp: OrchestratorConnection;

  const ok = async (tool: string, args: Json): Promise<Json> => {
    const result = await mcp.call(tool, args, { timeoutMs: LONG_CALL });
    expect(result.isError, `${tool}: ${textOf(result)}`).toBeFalsy();
    return result.structuredContent as Json;
  };

  beforeAll(async () => {
    const images = ensureTestImages(["tiny"]);
    ws = workspace("mcp-agent");
    mcp = await connectOrchestrator({ env: ws.env });
    await ok("create", createArgs(ws, fourResourceSpec({ baseImage: images.tiny, octet: 150, hostname: "agent" })));
  });

  afterAll(async () => {
    await mcp?.close();
    await deleteIfLeft(ws);
    ws?.[Symbol.dispose]();
  });

  it("exec runs in the VM: exit codes, stdout and stderr apart, timeouts kill", async () => {
    const vm = { testID: ws.testID, vm: "test-vm" };
    expect(await ok("exec", { ...vm, command: "hostname; echo oops >&2; exit 4" })).toMatchObject({ stdout: "agent\n", stderr: "oops\n", exitCode: 4 });
    expect((await ok("exec", { ...vm, command: ["uname", "-s"] })).stdout).toBe("Linux\n");
    expect(await ok("exec", { ...vm, command: "sleep 30", timeoutSeconds: 1 })).toMatchObject({ timedOut: true, exitCode: null });
    // The killed command is gone from the guest (busybox ps: no options needed).
    expect(String((await ok("exec", { ...vm, command: "ps | grep -c '[s]leep 30' || true" })).stdout).trim()).toBe("0");
  });

  it("write-file and read-file round-trip 1 MB of binary data (over exec: the tiny image has no SFTP)", async () => {
    const vm = { testID: ws.testID, vm: "test-vm" };
    const data = randomBytes(1024 * 1024);
    expect(await ok("write-file", { ...vm, path: "/root/agent/blob", content: data.toString("base64"), encoding: "base64", mode: "0640" })).toMatchObject({ sha256: sha256(data) });
    expect((await ok("exec", { ...vm, command: "sha256sum /root/agent/blob | cut -d' ' -f1; stat -c %a /root/agent/blob" })).stdout).toBe(`${sha256(data)}\n640\n`);
    const back = await ok("read-file", { ...vm, path: "/root/agent/blob", maxBytes: 2 * 1024 * 1024 });
    expect(back).toMatchObject({ encoding: "base64", size: data.length, sha256: sha256(data) });
  });

  it("console shows the guest's serial console, and follows it from an offset", async () => {
    const tail = await ok("console", { testID: ws.testID, vm: "test-vm", lines: 200 });
    expect(tail.source).toMatch(/test-vm\.console$/);
    expect((tail.lines as string[]).length).toBeGreaterThan(0);
    expect((tail.lines as string[]).join("\n")).toMatch(/Linux|login|cloud-init|init/i);
    const next = await ok("console", { testID: ws.testID, vm: "test-vm", since: tail.offset as number });
    expect(next.offset).toBeGreaterThanOrEqual(tail.offset as number);
  });

  it("delete removes everything", async () => {
    const prefix = readState(ws).prefix as string;
    await ok("delete", { testID: ws.testID, metadata: null });
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
  });
});
