import { rm } from "node:fs/promises";
import { ProviderError } from "../../kit/index.js";
import { CommandError, runOrFail } from "../exec.js";
import { runVirsh, type LibvirtConnection } from "../connection.js";
import { getLink } from "../net/host.js";
import { LOCAL_HOST } from "../host.js";
import { imageInfo } from "../vm/disk.js";

// What sync needs from the libvirt host beyond the provider's backend: the persistent (inactive) definition,
// autostart, and the disk image itself. One seam, so the planner and the service are tested without libvirt.

export interface MachineHost {
  /** The definition the domain boots with next (dumpxml --inactive); undefined when it does not exist. */
  inactiveXml(name: string): Promise<string | undefined>;
  autostart(name: string): Promise<boolean>;
  setAutostart(name: string, enabled: boolean): Promise<void>;
  diskInfo(path: string): Promise<{ format: string; virtualSize: number }>;
  createDisk(path: string, bytes: number): Promise<void>;
  growDisk(path: string, bytes: number): Promise<void>;
  removeDisk(path: string): Promise<void>;
  /** A host bridge of that name exists (for `network` naming a bridge rather than a libvirt network). */
  bridgeExists(name: string): Promise<boolean>;
}

const NOT_FOUND = /failed to get domain|no domain with matching|not found/i;

export class VirshMachineHost implements MachineHost {
  constructor(private readonly connection: LibvirtConnection) {}

  private async virsh(what: string, args: readonly string[]): Promise<string> {
    try {
      return (await runVirsh(this.connection, args, { timeoutMs: 60_000 })).stdout;
    } catch (error) {
      throw new ProviderError("PROVIDER_ERROR", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async inactiveXml(name: string): Promise<string | undefined> {
    try {
      return (await runVirsh(this.connection, ["dumpxml", "--inactive", name], { timeoutMs: 60_000 })).stdout;
    } catch (error) {
      if (error instanceof CommandError && NOT_FOUND.test(`${error.stderr} ${error.message}`)) return undefined;
      throw new ProviderError("PROVIDER_ERROR", `reading the definition of domain ${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async autostart(name: string): Promise<boolean> {
    return /^Autostart:\s+enable/m.test(await this.virsh(`reading domain ${name}`, ["dominfo", name]));
  }

  async setAutostart(name: string, enabled: boolean): Promise<void> {
    await this.virsh(`setting autostart of domain ${name}`, ["autostart", ...(enabled ? [] : ["--disable"]), name]);
  }

  diskInfo(path: string): Promise<{ format: string; virtualSize: number }> {
    return imageInfo(LOCAL_HOST, path);
  }

  async createDisk(path: string, bytes: number): Promise<void> {
    await runOrFail(`creating disk ${path}`, "qemu-img", ["create", "-q", "-f", "qcow2", path, String(bytes)]);
  }

  async growDisk(path: string, bytes: number): Promise<void> {
    const { format } = await imageInfo(LOCAL_HOST, path);
    await runOrFail(`growing disk ${path}`, "qemu-img", ["resize", "-q", "-f", format, path, String(bytes)]);
  }

  async removeDisk(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /** Asked over netlink (`ip`), so the answer is this network namespace's, whatever /sys shows. */
  async bridgeExists(name: string): Promise<boolean> {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) return false;
    return (await getLink(name))?.kind === "bridge";
  }
}
