import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Spec } from "../../api/spec.js";
import { defaultDataDir } from "../../providers/libvirt/config.js";
import { sshExec } from "../../providers/libvirt/vm/readiness.js";
import type { LeakScope } from "../helpers/leaks.js";
import { connectOrchestrator, textOf, type OrchestratorConnection } from "../helpers/mcp.js";

// Shared by the e2e_libvirt tests and the libvirt benchmarks: a workspace per environment, the design's
// 4-resource spec on the libvirt provider, create/delete over MCP, and the leak scope of an environment.

/** JSON read back from tool results. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON keeps assertions readable
export type Json = Record<string, any>;

/**
 * One state dir for every environment of this stage, so the orchestrator's per-state-dir subnet reservations keep
 * concurrently running environments (tests, benchmarks) on distinct /24s.
 */
export const STATE_DIR = process.env.TESTENV_VM_E2E_LIBVIRT_STATE_DIR ?? "/var/tmp/testenv-vm-e2e-libvirt/state";

export interface Workspace extends Disposable {
  testID: string;
  /** Forge's tmpDir for this environment; the artifact dir is tmpDir/testID. */
  tmpDir: string;
  artifactDir: string;
  /** Orchestrator process env. */
  env: Record<string, string>;
  root: string;
}

/** A testID shaped like Forge's (test-<stage>-<YYYYMMDD>-<8 hex>). */
export function newTestID(stage = "e2elibvirt"): string {
  return `test-${stage}-20260101-${randomBytes(4).toString("hex")}`;
}

export function workspace(label: string): Workspace {
  mkdirSync("/var/tmp", { recursive: true });
  // Under /var/tmp and 0755: libvirt-qemu must be able to traverse to what the environment puts here.
  const root = mkdtempSync(`/var/tmp/testenv-vm-e2e-${label}-`);
  chmodSync(root, 0o755);
  const testID = newTestID();
  const tmpDir = join(root, "tmp");
  mkdirSync(tmpDir, { mode: 0o755 });
  return {
    testID,
    tmpDir,
    artifactDir: join(tmpDir, testID),
    root,
    env: { TESTENV_VM_STATE_DIR: STATE_DIR, TESTENV_VM_IMAGE_CACHE_DIR: join(root, "images"), TESTENV_VM_LOG: "info" },
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** What findLeaks must check for an environment created in this workspace (libvirt provider defaults). */
export function leakScope(ws: Workspace, prefix: string): LeakScope {
  return { prefix, artifactDir: ws.artifactDir, keyDirs: [join(ws.artifactDir, "keys")], dataDir: defaultDataDir(prefix) };
}

export const LIBVIRT_PROVIDER = { name: "libvirt", engine: "testenv-vm-provider-libvirt" } as const;

export interface FourResourceOptions {
  baseImage: string;
  /** Third octet of the spec's /24 (the orchestrator moves it to one reserved for the environment). */
  octet?: number;
  hostname?: string;
  vmCount?: number;
}

/**
 * The design's 4-resource environment: key vm-ssh, a bridge, a libvirt network attached to the bridge (forward mode
 * bridge, DHCP), and a tiny VM whose cloud-init authorizes {{ .Keys.vm-ssh.PublicKey }}, ready when SSH works.
 * vmCount > 1 adds more VMs to the same (last) phase.
 */
export function fourResourceSpec(options: FourResourceOptions): Spec {
  const net = `192.168.${options.octet ?? 100}`;
  const vmCount = options.vmCount ?? 1;
  const vm = (name: string): NonNullable<Spec["vms"]>[number] => ({
    name,
    spec: {
      memory: 256,
      vcpus: 1,
      network: "libvirt-net",
      disk: { baseImage: options.baseImage, size: "1G" },
      cloudInit: {
        hostname: options.hostname ?? name,
        users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }],
      },
      readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "6m" } },
    },
  });
  return {
    providers: [{ ...LIBVIRT_PROVIDER }],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "bridge", kind: "bridge", spec: { cidr: `${net}.1/24` } },
      {
        name: "libvirt-net",
        kind: "libvirt",
        spec: { attachTo: "bridge", forwardMode: "bridge", cidr: `${net}.1/24`, dhcp: { enabled: true, rangeStart: `${net}.10`, rangeEnd: `${net}.50` } },
      },
    ],
    vms: vmCount === 1 ? [vm("test-vm")] : Array.from({ length: vmCount }, (_, i) => vm(`test-vm-${i + 1}`)),
  };
}

export function createArgs(ws: Workspace, spec: Spec): Record<string, unknown> {
  return { testID: ws.testID, stage: "e2e_libvirt", tmpDir: ws.tmpDir, rootDir: ws.root, metadata: {}, env: {}, spec };
}

const LONG_CALL = 900_000;

/** `create` over MCP from a fresh orchestrator process; returns the tool result (the caller checks isError). */
export async function createOverMcp(ws: Workspace, spec: Spec, onProgress?: (message: string) => void): Promise<CallToolResult> {
  await using orchestrator = await connectOrchestrator({ env: ws.env });
  return await orchestrator.call("create", createArgs(ws, spec), { timeoutMs: LONG_CALL, onprogress: (p) => onProgress?.(p.message ?? "") });
}

/** `delete` over MCP from a fresh orchestrator process, as Forge does after the tests. */
export async function deleteOverMcp(ws: Workspace, metadata: Record<string, string> = {}): Promise<CallToolResult> {
  await using orchestrator = await connectOrchestrator({ env: ws.env });
  return await orchestrator.call("delete", { testID: ws.testID, metadata }, { timeoutMs: LONG_CALL });
}

export { connectOrchestrator, textOf, type OrchestratorConnection };

export function stateFile(ws: Workspace): string {
  return join(STATE_DIR, "state", `testenv-${ws.testID}.json`);
}

/** Deletes the environment if its state file is still there (afterAll of a test that failed half-way). */
export async function deleteIfLeft(ws: Workspace): Promise<void> {
  if (existsSync(stateFile(ws))) await deleteOverMcp(ws).catch(() => undefined);
}

export function readState(ws: Workspace): Json {
  return JSON.parse(readFileSync(join(STATE_DIR, "state", `testenv-${ws.testID}.json`), "utf8")) as Json;
}

/** Runs a command on a guest with a private key file (ssh2, the same code as the provider's readiness check). */
export async function sshRun(host: string, privateKeyPath: string, command: string, user = "root"): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const out = await sshExec({ host, port: 22, user, privateKey: readFileSync(privateKeyPath, "utf8") }, command, 60_000);
  return out;
}

/** An artifact `files` entry resolved against Forge's tmpDir, as Forge does. */
export function artifactFile(ws: Workspace, artifact: Json, key: string): string {
  const relativePath = (artifact.files as Record<string, string>)[key];
  if (relativePath === undefined) throw new Error(`artifact has no file ${key}: ${JSON.stringify(artifact.files)}`);
  return resolve(ws.tmpDir, relativePath);
}
