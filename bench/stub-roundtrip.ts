// Create + delete of the design example on the stub, through MCP stdio, provider spawn included.
// Run from the build: `npm run build && node dist/bench/stub-roundtrip.js [runs]`. Goal: median <= 500 ms.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

const BIN = resolve(import.meta.dirname, "../src/bin.js");
const runs = Number(process.argv[2] ?? 7);

function designExample(): Record<string, unknown> {
  return {
    providers: [{ name: "stub", engine: "testenv-vm-provider-stub" }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "bridge", kind: "bridge", spec: { cidr: "192.168.100.1/24" } },
      { name: "libvirt-net", kind: "libvirt", spec: { cidr: "192.168.100.1/24", attachTo: "bridge", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.100" } } },
      { name: "dnsmasq", kind: "dnsmasq", spec: { attachTo: "bridge" } },
    ],
    vms: [
      {
        name: "test-vm",
        spec: {
          memory: 1024,
          vcpus: 1,
          network: "libvirt-net",
          disk: { size: "10G" },
          boot: { order: ["hd"] },
          cloudInit: { users: [{ name: "ubuntu", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
        },
      },
    ],
  };
}

async function connect(env: Record<string, string>): Promise<Client> {
  const client = new Client({ name: "bench", version: "0" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, "--mcp"], env: { TESTENV_VM_LOG: "error", ...env }, stderr: "ignore" }));
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const result = (await client.callTool({ name, arguments: args }, CallToolResultSchema)) as CallToolResult;
  if (result.isError) {
    const first = result.content[0];
    throw new Error(`${name}: ${first?.type === "text" ? first.text : "failed"}`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "testenv-vm-bench-"));
  const env = { TESTENV_VM_STATE_DIR: join(root, "state") };
  const connected: number[] = [];
  const forgeLike: number[] = [];
  try {
    // One orchestrator process, as an MCP agent would keep it: each call still spawns its provider.
    const client = await connect(env);
    for (let i = 0; i <= runs; i++) {
      const args = { testID: `bench-rt-${i}`, stage: "bench", tmpDir: join(root, "tmp"), metadata: {}, spec: designExample() };
      const started = performance.now();
      await call(client, "create", args);
      await call(client, "delete", { testID: args.testID, metadata: {} });
      if (i > 0) connected.push(performance.now() - started); // run 0 warms the file cache
    }
    await client.close();

    // As Forge does it: a fresh orchestrator process for create and another for delete.
    for (let i = 0; i < runs; i++) {
      const args = { testID: `bench-forge-${i}`, stage: "bench", tmpDir: join(root, "tmp"), metadata: {}, spec: designExample() };
      const started = performance.now();
      const creator = await connect(env);
      await call(creator, "create", args);
      await creator.close();
      const deleter = await connect(env);
      await call(deleter, "delete", { testID: args.testID, metadata: {} });
      await deleter.close();
      forgeLike.push(performance.now() - started);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const fmt = (values: number[]): string => `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}, n=${values.length})`;
  process.stdout.write(`design example create+delete, one MCP connection (provider spawned by create, reused by delete): ${fmt(connected)}\n`);
  process.stdout.write(`design example create+delete, a new orchestrator process per call (Forge): ${fmt(forgeLike)}\n`);
  process.stdout.write(`goal: median <= 500 ms (one connection): ${median(connected) <= 500 ? "met" : "NOT met"}\n`);
}

await main();
