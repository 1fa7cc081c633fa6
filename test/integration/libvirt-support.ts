import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { startedForSuite } from "../helpers/hooks.js";
import { startProviderProcess, type ProviderProcess } from "../helpers/provider-stdio.js";

export type { ProviderProcess } from "../helpers/provider-stdio.js";

// Drives the built libvirt provider binary over real stdio with the official MCP SDK client, and
// inspects the host (virsh, ip, /proc) for leftovers.

export const LIBVIRT_BIN = resolve(import.meta.dirname, "../../dist/providers/libvirt/bin.js");
export const URI = "qemu:///system";

export interface ProviderEnv {
  prefix: string;
  testID: string;
  /** Holds artifactDir and dataDir. */
  root: string;
  artifactDir: string;
  dataDir: string;
  /** The provider-level name of a resource of this env (`<prefix>-<name>`). */
  name: (logical: string) => string;
}


/** Unique per run, short enough to keep bridge names readable (prefix + '-' + hash ≤ 15). */
export function newEnv(tag: string): ProviderEnv {
  const prefix = `t${(Date.now() % 0xfffff).toString(16).padStart(5, "0")}`;
  const root = `/var/lib/testenv-vm-it/${prefix}-${tag}`;
  return { prefix, testID: `it-${tag}-${prefix}`, root, artifactDir: `${root}/artifacts`, dataDir: `${root}/data`, name: (logical) => `${prefix}-${logical}` };
}

/** Resources a test file may have left behind when a test failed, by logical name. */
export interface Leftovers {
  vms?: readonly string[];
  networks?: readonly string[];
  keys?: readonly string[];
}

/**
 * The end of a test file: deletes what a failed test may have left (best effort: VMs, then networks, then keys,
 * each forced where the tool allows it), closes the provider and removes the env's files.
 */
export async function tearDown(env: ProviderEnv, provider: ProviderProcess | undefined, leftovers: Leftovers = {}): Promise<void> {
  for (const vm of leftovers.vms ?? []) await provider?.call("vm_delete", { name: env.name(vm) }).catch(() => undefined);
  for (const network of leftovers.networks ?? []) await provider?.call("network_delete", { name: env.name(network), force: true }).catch(() => undefined);
  for (const key of leftovers.keys ?? []) await provider?.call("key_delete", { name: env.name(key), force: true }).catch(() => undefined);
  await provider?.close();
  removeEnvFiles(env);
}

/**
 * One provider process for the calling describe block: started before its first test; after its last, the
 * leftovers are deleted, the process closed and the env's files removed (tearDown). The returned handle
 * forwards to that process, so use it inside tests and hooks only.
 */
export function useProvider(env: ProviderEnv, leftovers: Leftovers = {}): ProviderProcess {
  const current = startedForSuite("the provider process", () => startProvider(env), (provider) => tearDown(env, provider, leftovers));
  return {
    get pid() {
      return current().pid;
    },
    stderr: () => current().stderr(),
    call: (tool, args, timeoutMs) => current().call(tool, args, timeoutMs),
    raw: (tool, args) => current().raw(tool, args),
    close: () => current().close(),
    [Symbol.asyncDispose]: () => current().close(),
  };
}

/** Removes the env's data and artifact dirs. */
export function removeEnvFiles(env: ProviderEnv): void {
  rmSync(env.root, { recursive: true, force: true });
}

/** What key_create answers with, as far as the tests use it. */
export interface ProviderKey {
  privateKeyPath: string;
  publicKey: string;
}

export interface RootSshVmOptions {
  networks: readonly string[];
  key: ProviderKey;
  disk: Record<string, unknown>;
  /** How long SSH readiness may take (e.g. "4m"). */
  sshTimeout: string;
  /** Default: boot from the disk. */
  boot?: Record<string, unknown>;
  /** cloud-init fields besides the root user. */
  cloudInit?: Record<string, unknown>;
  /** Readiness checks besides SSH. */
  readiness?: Record<string, unknown>;
}

/** The VM spec most tests boot: 256 MiB, 1 vCPU, root authorizes `key`, ready when SSH as root works. */
export function rootSshVm(options: RootSshVmOptions): Record<string, unknown> {
  return {
    memory: 256,
    vcpus: 1,
    networks: options.networks,
    disk: options.disk,
    boot: options.boot ?? { order: ["hd"] },
    cloudInit: { ...options.cloudInit, users: [{ name: "root", sshAuthorizedKeys: [options.key.publicKey] }] },
    readiness: { ssh: { enabled: true, user: "root", privateKey: options.key.privateKeyPath, timeout: options.sshTimeout }, ...options.readiness },
  };
}

export async function startProvider(env: ProviderEnv): Promise<ProviderProcess> {
  // Under /var/lib so libvirt-qemu can traverse to disks and seed ISOs (a mkdtemp dir is 0700).
  mkdirSync(env.dataDir, { recursive: true, mode: 0o755 });
  return startProviderProcess({
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
    // LIBVIRT_IT_LOG=<dir>: keep each provider process's stderr (debug level) for inspection.
    logFile: process.env.LIBVIRT_IT_LOG ? `${process.env.LIBVIRT_IT_LOG}/${env.prefix}.log` : undefined,
    clientName: "libvirt-integration",
  });
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
