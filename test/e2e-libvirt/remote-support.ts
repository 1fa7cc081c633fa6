import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import type { ProviderConfig, Spec } from "../../api/spec.js";
import { describe } from "vitest";
import { retryUntil } from "../../lib/retry.js";
import type { TestImages } from "../helpers/images.js";
import { ORCHESTRATOR_BIN } from "../helpers/mcp.js";
import { remoteShell, type RemoteHost } from "../helpers/remote-host.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { readState, stateFile, type Workspace } from "./support.js";

// Shared by the tests on the second libvirt host (remote-host, host-pool): an environment of one tiny VM on a
// libvirt NAT network, the built CLI, and the wait for a create's domain to be defined on the host.

// Runs with the stage (the remote host starts in 1-3 s); TESTENV_VM_TEST_REMOTE_HOST=0 skips it on a machine
// without sshd (scripts/setup.sh installs it).
export function describeRemote(name: string, fn: () => void): void {
  if (process.env.TESTENV_VM_TEST_REMOTE_HOST === "0") describe.skip(name, fn);
  else describeIfTestHost(name, fn);
}

export interface NatSpecOptions {
  /** Third octet of the spec's /24 (the orchestrator moves it to one reserved for the environment). */
  octet?: number;
  hostname?: string;
  memory?: number;
}

/** A key, a libvirt NAT network (libvirt serves its DHCP) and one tiny VM, ready when SSH works. */
export function natSpec(provider: ProviderConfig, images: TestImages, options: NatSpecOptions = {}): Spec {
  const octet = options.octet ?? 100;
  return {
    providers: [provider],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [
      { name: "nat", kind: "libvirt", spec: { forwardMode: "nat", cidr: `192.168.${octet}.1/24`, dhcp: { enabled: true, rangeStart: `192.168.${octet}.10`, rangeEnd: `192.168.${octet}.50` } } },
    ],
    vms: [
      {
        name: "test-vm",
        spec: {
          memory: options.memory ?? 256,
          vcpus: 1,
          network: "nat",
          disk: { baseImage: images.tiny, size: "1G" },
          cloudInit: { hostname: options.hostname ?? "remote-vm", users: [{ name: "root", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
          readiness: { ssh: { enabled: true, user: "root", privateKey: "{{ .Keys.vm-ssh.PrivateKeyPath }}", timeout: "6m" } },
        },
      },
    ],
  };
}

/** The built CLI with the workspace's environment; resolves with its exit code and output. */
export function cli(ws: Workspace, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ORCHESTRATOR_BIN, ...args], { env: { ...process.env, ...ws.env, TESTENV_VM_LOG: "warn" }, timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

/**
 * Waits until the workspace's create has defined its VM `vm` on the remote host; returns the environment's prefix.
 * `creating` is that create: should it end first, the wait ends with its result.
 */
export async function remoteDomainDefined(host: RemoteHost, ws: Workspace, creating: Promise<unknown>, vm = "test-vm"): Promise<string> {
  let ended: unknown;
  void creating.then((result) => (ended = result ?? "ended"), (error: unknown) => (ended = error ?? "failed"));
  const defined = await retryUntil(
    () => {
      if (ended !== undefined) throw new Error(`the create ended before its domain was defined on the host: ${JSON.stringify(ended).slice(0, 2000)}`);
      if (!existsSync(stateFile(ws))) return Promise.resolve(undefined);
      const prefix = readState(ws).prefix as string;
      return Promise.resolve(remoteShell(host, "virsh -q -c qemu:///system list --all --name").includes(`${prefix}-${vm}`) ? prefix : undefined);
    },
    { timeoutMs: 300_000, intervalMs: 250, retryable: (error) => !(error instanceof Error && error.message.startsWith("the create ended")) },
  );
  if (!defined.ok) throw new Error(`the domain was never defined on the host: ${String(defined.lastError)}`);
  return defined.value;
}
