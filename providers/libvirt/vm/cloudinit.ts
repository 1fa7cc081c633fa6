import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { z } from "zod";
import type { CloudInitSpec } from "../../../api/spec.js";
import { invalidSpec } from "../../kit/index.js";
import { runOrFail } from "../exec.js";
import { checkHostname } from "../names.js";

// The NoCloud seed: meta-data, user-data and network-config, always emitted with the yaml library so no
// user string can change the document's structure, then packed into an ISO with volume id `cidata`.

export type CloudInit = z.infer<typeof CloudInitSpec>;

export interface NicPlan {
  mac: string;
  network: string;
}

const STRINGIFY = { lineWidth: 0, minContentWidth: 0 } as const;

export function metaData(instanceId: string, hostname: string): string {
  return stringify({ "instance-id": instanceId, "local-hostname": hostname }, STRINGIFY);
}

/** A guest hostname: the spec's, else the VM name cut to a valid label. */
export function guestHostname(cloudInit: CloudInit | undefined, vmName: string): string {
  if (cloudInit?.hostname) return checkHostname(cloudInit.hostname, "spec.cloudInit.hostname");
  const label = vmName.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return label || "testenv-vm";
}

export function userData(cloudInit: CloudInit | undefined, hostname: string): string {
  const doc: Record<string, unknown> = { hostname, manage_etc_hosts: true };
  const users = cloudInit?.users ?? [];
  if (users.length > 0) {
    doc.users = users.map((user) => ({
      name: user.name,
      ...(user.sudo ? { sudo: user.sudo } : {}),
      ...(user.shell ? { shell: user.shell } : {}),
      ...(user.homeDir ? { homedir: user.homeDir } : {}),
      ...(user.groups && user.groups.length > 0 ? { groups: user.groups.join(", ") } : {}),
      lock_passwd: true,
      ...(user.sshAuthorizedKeys && user.sshAuthorizedKeys.length > 0 ? { ssh_authorized_keys: user.sshAuthorizedKeys.map((k) => k.trim()) } : {}),
    }));
    // cloud-init's default turns root's authorized_keys into a "log in as <default user>" message.
    if (users.some((user) => user.name === "root")) doc.disable_root = false;
  }
  doc.ssh_pwauth = false;
  if (cloudInit?.packages && cloudInit.packages.length > 0) doc.packages = [...cloudInit.packages];
  if (cloudInit?.writeFiles && cloudInit.writeFiles.length > 0) {
    doc.write_files = cloudInit.writeFiles.map((file, index) => {
      if (!file.path.startsWith("/")) throw invalidSpec(`spec.cloudInit.writeFiles[${index}].path: "${file.path}" must be absolute`);
      if (file.permissions !== undefined && !/^0?[0-7]{3,4}$/.test(file.permissions)) {
        throw invalidSpec(`spec.cloudInit.writeFiles[${index}].permissions: "${file.permissions}" is not an octal mode like '0644'`);
      }
      return {
        path: file.path,
        content: file.content,
        ...(file.permissions ? { permissions: file.permissions.length === 3 ? `0${file.permissions}` : file.permissions } : {}),
        ...(file.owner ? { owner: file.owner } : {}),
      };
    });
  }
  if (cloudInit?.runcmd && cloudInit.runcmd.length > 0) doc.runcmd = [...cloudInit.runcmd];
  return `#cloud-config\n${stringify(doc, STRINGIFY)}`;
}

function ethernetKey(name: string, index: number): string {
  const key = name.replace(/\*/g, "all").replace(/[^A-Za-z0-9_]/g, "_");
  return key === "" ? `nic${index}` : key;
}

/** Netplan v2: the spec's ethernets, else DHCP on every NIC matched by its (known) MAC. */
export function networkConfig(cloudInit: CloudInit | undefined, nics: readonly NicPlan[]): string | undefined {
  const ethernets = cloudInit?.networkConfig?.ethernets;
  const out: Record<string, Record<string, unknown>> = {};
  if (ethernets && ethernets.length > 0) {
    ethernets.forEach((eth, index) => {
      const entry: Record<string, unknown> = {};
      if (eth.macAddress) entry.match = { macaddress: eth.macAddress.toLowerCase() };
      else if (/[*?[]/.test(eth.name)) entry.match = { name: eth.name };
      const addresses = eth.addresses ?? [];
      entry.dhcp4 = eth.dhcp4 ?? addresses.length === 0;
      if (addresses.length > 0) entry.addresses = [...addresses];
      if (eth.gateway4) entry.routes = [{ to: "default", via: eth.gateway4 }];
      if (eth.nameservers?.addresses && eth.nameservers.addresses.length > 0) entry.nameservers = { addresses: [...eth.nameservers.addresses] };
      const key = eth.macAddress || /[*?[]/.test(eth.name) ? ethernetKey(eth.name, index) : eth.name;
      out[key in out ? `${key}_${index}` : key] = entry;
    });
  } else if (nics.length > 0) {
    nics.forEach((nic, index) => {
      out[`nic${index}`] = { match: { macaddress: nic.mac }, dhcp4: true };
    });
  } else {
    return undefined;
  }
  return stringify({ version: 2, ethernets: out }, STRINGIFY);
}

/** First static address of the NIC at `index` (or matching `mac`) in the spec, CIDR suffix removed. */
export function staticAddress(cloudInit: CloudInit | undefined, mac: string, index: number): string | undefined {
  const ethernets = cloudInit?.networkConfig?.ethernets ?? [];
  const byMac = ethernets.find((eth) => eth.macAddress?.toLowerCase() === mac);
  const eth = byMac ?? (ethernets.some((e) => e.macAddress) ? undefined : ethernets[index]);
  const address = eth?.addresses?.[0];
  return address?.split("/")[0];
}

export interface SeedFiles {
  metaData: string;
  userData: string;
  networkConfig: string | undefined;
}

export async function buildSeedIso(files: SeedFiles, isoPath: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "testenv-vm-cidata-"));
  try {
    await writeFile(join(dir, "meta-data"), files.metaData);
    await writeFile(join(dir, "user-data"), files.userData);
    const names = ["user-data", "meta-data"];
    if (files.networkConfig !== undefined) {
      await writeFile(join(dir, "network-config"), files.networkConfig);
      names.push("network-config");
    }
    await runOrFail("building the cloud-init seed ISO", "xorriso", [
      "-as",
      "genisoimage",
      "-output",
      isoPath,
      "-volid",
      "cidata",
      "-joliet",
      "-rock",
      ...names.map((name) => join(dir, name)),
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
