import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

// Shared by the project-folder e2e_libvirt tests: the CLI as a person runs it, a project folder libvirt-qemu can
// reach, and a NAT network standing in for a user's libvirt `default` network.

export const BIN = resolve(import.meta.dirname, "../../dist/src/bin.js");
const run = promisify(execFile);

export const virsh = (...args: string[]): string => execFileSync("virsh", ["-q", "-c", "qemu:///system", ...args], { encoding: "utf8" }).trim();

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `testenv-vm <verb> --dir <folder> <rest...>` in a fresh process: --dir before the rest, which may hold `-- CMD...`. */
export async function projectCli(folder: string, verb: string, ...rest: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run("node", [BIN, verb, "--dir", folder, ...rest], { timeout: 900_000, env: { ...process.env, TESTENV_VM_LOG: "warn" } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** A folder named `name` under /var/tmp, 0755 on the way, so libvirt-qemu can reach the overlay below it. */
export function projectFolder(name: string): string {
  mkdirSync("/var/tmp", { recursive: true });
  const parent = mkdtempSync("/var/tmp/testenv-vm-project-");
  chmodSync(parent, 0o755);
  const folder = join(parent, name);
  mkdirSync(folder, { mode: 0o755 });
  return folder;
}

/**
 * Defines and starts a NAT libvirt network `name` on 192.168.<octet>.0/24 (an octet outside the orchestrator's
 * reserved 20-219), as a user's machine has `default`. Returns the function that removes it again.
 */
export function defineNatNetwork(name: string, octet: number): () => void {
  const xml = join(mkdtempSync("/var/tmp/testenv-vm-netxml-"), "net.xml");
  writeFileSync(
    xml,
    `<network><name>${name}</name><forward mode="nat"/><ip address="192.168.${octet}.1" netmask="255.255.255.0"><dhcp><range start="192.168.${octet}.10" end="192.168.${octet}.99"/></dhcp></ip></network>`,
  );
  virsh("net-define", xml);
  virsh("net-start", name);
  return () => {
    for (const args of [["net-destroy", name], ["net-undefine", name]]) {
      try {
        virsh(...args);
      } catch {
        // already gone
      }
    }
  };
}
