import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

// Drives the built libvirt provider binary over real stdio with the official MCP SDK client, and
// inspects the host (virsh, ip, /proc) for leftovers.

export const LIBVIRT_BIN = resolve(import.meta.dirname, "../../dist/providers/libvirt/bin.js");
export const URI = "qemu:///system";

export interface ProviderEnv {
  prefix: string;
  testID: string;
  artifactDir: string;
  dataDir: string;
}

export interface ProviderProcess extends AsyncDisposable {
  pid: number;
  stderr(): string;
  call(tool: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<{ success: boolean; error?: { code: string; message: string; retryable: boolean }; resource?: unknown }>;
  raw(tool: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** Unique per run, short enough to keep bridge names readable (prefix + '-' + hash ≤ 15). */
export function newEnv(tag: string): ProviderEnv {
  const prefix = `t${(Date.now() % 0xfffff).toString(16).padStart(5, "0")}`;
  const root = `/var/lib/testenv-vm-it/${prefix}-${tag}`;
  return { prefix, testID: `it-${tag}-${prefix}`, artifactDir: `${root}/artifacts`, dataDir: `${root}/data` };
}

export async function startProvider(env: ProviderEnv): Promise<ProviderProcess> {
  // Under /var/lib so libvirt-qemu can traverse to disks and seed ISOs (a mkdtemp dir is 0700).
  mkdirSync(env.dataDir, { recursive: true, mode: 0o755 });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [LIBVIRT_BIN, "--mcp"],
    env: {
      ...(process.env as Record<string, string>),
      TESTENV_VM_LOG: "debug",
      TESTENV_VM_TEST_ID: env.testID,
      TESTENV_VM_NAME_PREFIX: env.prefix,
      TESTENV_VM_ARTIFACT_DIR: env.artifactDir,
      TESTENV_VM_PROVIDER_CONFIG: JSON.stringify({ dataDir: env.dataDir, uri: URI }),
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const client = new Client({ name: "libvirt-integration", version: "0.0.0" });
  await client.connect(transport);
  const pid = transport.pid ?? -1;
  const raw = async (tool: string, args: Record<string, unknown> = {}, timeoutMs = 300_000) =>
    (await client.callTool({ name: tool, arguments: args }, CallToolResultSchema, { timeout: timeoutMs })) as CallToolResult;
  const close = async () => {
    await client.close();
    // LIBVIRT_IT_LOG=<dir>: keep each provider process's stderr (debug level) for inspection.
    if (process.env.LIBVIRT_IT_LOG) appendFileSync(`${process.env.LIBVIRT_IT_LOG}/${env.prefix}.log`, stderr);
  };
  return {
    pid,
    stderr: () => stderr,
    raw: (tool, args) => raw(tool, args),
    call: async (tool, args = {}, timeoutMs = 300_000) => {
      const result = await raw(tool, args, timeoutMs);
      const first = result.content[0];
      return JSON.parse(first?.type === "text" ? first.text : "{}") as Awaited<ReturnType<ProviderProcess["call"]>>;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function sh(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 30_000 });
  } catch {
    return "";
  }
}

export const domains = () => sh("virsh", ["-q", "-c", URI, "list", "--all", "--name"]).split("\n").map((s) => s.trim()).filter(Boolean);
export const networks = () => sh("virsh", ["-q", "-c", URI, "net-list", "--all", "--name"]).split("\n").map((s) => s.trim()).filter(Boolean);
export const links = () => (JSON.parse(sh("ip", ["-j", "link", "show"]) || "[]") as { ifname: string }[]).map((l) => l.ifname);
export const addresses = (iface: string) =>
  ((JSON.parse(sh("ip", ["-j", "addr", "show", "dev", iface]) || "[]") as { addr_info?: { family: string; local: string; prefixlen: number }[] }[])[0]?.addr_info ?? [])
    .filter((a) => a.family === "inet")
    .map((a) => `${a.local}/${a.prefixlen}`);

/** dnsmasq processes whose argv mentions the given text (e.g. the env's data dir). */
export function dnsmasqProcesses(mentioning: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.startsWith("dnsmasq") || cmdline.includes("/dnsmasq\0")) {
        if (cmdline.includes(mentioning)) pids.push(Number(entry));
      }
    } catch {
      // process exited while we looked
    }
  }
  return pids;
}

/** Files left under a directory, recursively (relative paths). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as { name: string; parentPath?: string; path?: string; isFile(): boolean }[])
    .filter((d) => d.isFile())
    .map((d) => `${d.parentPath ?? d.path ?? ""}/${d.name}`);
}

/** Everything on the host that carries the env's prefix; empty means nothing leaked. */
export function leaks(env: ProviderEnv): string[] {
  const found: string[] = [];
  for (const d of domains()) if (d.startsWith(env.prefix)) found.push(`domain ${d}`);
  for (const n of networks()) if (n.startsWith(env.prefix)) found.push(`network ${n}`);
  for (const l of links()) if (l.startsWith(env.prefix)) found.push(`link ${l}`);
  for (const p of dnsmasqProcesses(env.dataDir)) found.push(`dnsmasq pid ${p}`);
  for (const f of filesUnder(`${env.dataDir}/vms`)) found.push(`file ${f}`);
  for (const f of filesUnder(`${env.dataDir}/dnsmasq`)) found.push(`file ${f}`);
  for (const f of filesUnder(env.artifactDir)) found.push(`file ${f}`);
  for (const f of filesUnder(`${env.dataDir}/records`)) found.push(`record ${f}`);
  return found;
}
