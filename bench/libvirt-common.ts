// Shared by the libvirt benchmarks: the design's 4-resource environment on the libvirt provider, created and
// deleted through `testenv-vm --mcp` exactly as Forge does (a fresh orchestrator process for each), timed.
// Run inside the test host (scripts/testhost.sh exec -- node dist/bench/...): guests are reachable only there.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

const BIN = resolve(import.meta.dirname, "../src/bin.js");
const LONG_CALL = 900_000;

/** The tiny test image (scripts/images/build.sh tiny), symlink resolved. */
export function tinyImage(): string {
  const dir = process.env.TESTENV_VM_TEST_IMAGES_DIR ?? "/var/cache/testenv-vm/test-images";
  const link = join(dir, "tiny");
  if (!existsSync(link)) throw new Error(`no tiny image in ${dir}; run: bash scripts/images/build.sh tiny`);
  return join(realpathSync(link), "tiny.qcow2");
}

/** Key, bridge, libvirt network attached to the bridge (DHCP), and `vmCount` tiny VMs ready when SSH works. */
export function fourResourceSpec(baseImage: string, vmCount = 1): Record<string, unknown> {
  const vm = (name: string): Record<string, unknown> => ({
    name,
    spec: {
      memory: 256,
      vcpus: 1,
      network: "libvirt-net",
      disk: { baseImage, size: "1G" },
      cloudInit: { hostname: name, users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
      readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "10m" } },
    },
  });
  return {
    providers: [{ name: "libvirt", engine: "testenv-vm-provider-libvirt" }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "bridge", kind: "bridge", spec: { cidr: "192.168.100.1/24" } },
      {
        name: "libvirt-net",
        kind: "libvirt",
        spec: { attachTo: "bridge", forwardMode: "bridge", cidr: "192.168.100.1/24", dhcp: { enabled: true, rangeStart: "192.168.100.10", rangeEnd: "192.168.100.50" } },
      },
    ],
    vms: vmCount === 1 ? [vm("test-vm")] : Array.from({ length: vmCount }, (_, i) => vm(`test-vm-${i + 1}`)),
  };
}

async function callFresh(env: Record<string, string>, name: string, args: Record<string, unknown>): Promise<void> {
  const client = new Client({ name: "libvirt-bench", version: "0" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, "--mcp"], env: { TESTENV_VM_LOG: "error", ...env }, stderr: "inherit" }));
  try {
    const result = (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: LONG_CALL })) as CallToolResult;
    if (result.isError) {
      const first = result.content[0];
      throw new Error(`${name}: ${first?.type === "text" ? first.text : "failed"}`);
    }
  } finally {
    await client.close();
  }
}

export interface Timing {
  createMs: number;
  deleteMs: number;
}

/** create (to SSH-ready) then delete, each from a new orchestrator process; wall times include process start. */
export async function timeEnvironment(spec: Record<string, unknown>): Promise<Timing> {
  // 0755 under /var/tmp: libvirt-qemu must traverse to what the environment keeps here.
  const root = mkdtempSync("/var/tmp/testenv-vm-bench-");
  chmodSync(root, 0o755);
  const env = { TESTENV_VM_STATE_DIR: process.env.TESTENV_VM_BENCH_STATE_DIR ?? "/var/tmp/testenv-vm-e2e-libvirt/state" };
  const testID = `test-bench-20260101-${randomBytes(4).toString("hex")}`;
  try {
    const started = performance.now();
    try {
      await callFresh(env, "create", { testID, stage: "bench", tmpDir: join(root, "tmp"), rootDir: root, metadata: {}, env: {}, spec });
    } catch (error) {
      await callFresh(env, "delete", { testID, metadata: {} }).catch(() => undefined);
      throw error;
    }
    const created = performance.now();
    await callFresh(env, "delete", { testID, metadata: {} });
    return { createMs: created - started, deleteMs: performance.now() - created };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

export function describe(values: readonly number[]): string {
  return `median ${seconds(median(values))} s (min ${seconds(Math.min(...values))}, max ${seconds(Math.max(...values))}, n=${values.length})`;
}
