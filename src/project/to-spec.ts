import { parse as parseYaml } from "yaml";
import type { ProjectEnv } from "../../api/project-env.js";
import type { Spec } from "../../api/spec.js";
import { TestenvError, type Issue } from "../errors.js";
import type { ProjectIdentity } from "./identity.js";

// A project folder's `.env` becomes an ordinary spec, so that one engine (validation, DAG, state, providers,
// rollback) serves project folders, forge.yaml and agents alike. Resource names are fixed; the VM carries the
// instance name so that `virsh list` shows which folder a domain belongs to.

export const PROJECT_KEY = "ssh";
export const PROJECT_NETWORK = "net";

type CloudInit = NonNullable<Spec["vms"]>[number]["spec"]["cloudInit"] & object;

/** The parts of the user's own `#cloud-config` that the guest seed can carry; the rest is named, not dropped. */
export interface UserCloudConfig {
  users: NonNullable<CloudInit["users"]>;
  packages: string[];
  runcmd: string[];
  writeFiles: NonNullable<CloudInit["writeFiles"]>;
  hostname?: string;
}

const SUPPORTED_KEYS = ["users", "packages", "runcmd", "write_files", "hostname"];

function cloudConfigError(path: string, issues: Issue[]): TestenvError {
  return new TestenvError("SPEC_INVALID", `CLOUD_CONFIG ${path} cannot be used; nothing was created`, { issues, details: { path } });
}

const strings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === "string");

/** Reads the user's `#cloud-config` (YAML). Keys we cannot carry into the seed are an error naming them. */
export function parseUserCloudConfig(text: string, path: string): UserCloudConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw cloudConfigError(path, [{ field: "CLOUD_CONFIG", message: `is not valid YAML: ${(error as Error).message.split("\n")[0] ?? ""}` }]);
  }
  if (doc === null || doc === undefined) return { users: [], packages: [], runcmd: [], writeFiles: [] };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw cloudConfigError(path, [{ field: "CLOUD_CONFIG", message: "must be a #cloud-config mapping (users:, packages:, runcmd:, ...)" }]);
  }
  const record = doc as Record<string, unknown>;
  const issues: Issue[] = [];
  const unsupported = Object.keys(record).filter((key) => !SUPPORTED_KEYS.includes(key));
  if (unsupported.length > 0) {
    issues.push({ field: "CLOUD_CONFIG", message: `keys ${unsupported.join(", ")} are not supported yet; supported: ${SUPPORTED_KEYS.join(", ")}` });
  }
  const users: UserCloudConfig["users"] = [];
  for (const [index, user] of (Array.isArray(record.users) ? record.users : []).entries()) {
    // cloud-init's `- default` means the image's default user; the seed always has ours, so it adds nothing.
    if (user === "default") continue;
    const entry = user as Record<string, unknown> | null;
    if (typeof entry?.name !== "string") {
      issues.push({ field: `CLOUD_CONFIG.users[${index}]`, message: "needs a name" });
      continue;
    }
    users.push({
      name: entry.name,
      ...(typeof entry.sudo === "string" ? { sudo: entry.sudo } : {}),
      ...(typeof entry.shell === "string" ? { shell: entry.shell } : {}),
      ...(typeof entry.groups === "string" ? { groups: entry.groups.split(",").map((g) => g.trim()) } : strings(entry.groups) ? { groups: entry.groups } : {}),
      ...(strings(entry.ssh_authorized_keys) ? { sshAuthorizedKeys: entry.ssh_authorized_keys } : {}),
    });
  }
  for (const key of ["packages", "runcmd"] as const) {
    if (record[key] !== undefined && !strings(record[key])) issues.push({ field: `CLOUD_CONFIG.${key}`, message: "must be a list of strings" });
  }
  const writeFiles: UserCloudConfig["writeFiles"] = [];
  for (const [index, file] of (Array.isArray(record.write_files) ? record.write_files : []).entries()) {
    const entry = file as Record<string, unknown> | null;
    if (typeof entry?.path !== "string" || typeof entry.content !== "string") {
      issues.push({ field: `CLOUD_CONFIG.write_files[${index}]`, message: "needs a path and a content string" });
      continue;
    }
    writeFiles.push({
      path: entry.path,
      content: entry.content,
      ...(typeof entry.permissions === "string" ? { permissions: entry.permissions } : {}),
      ...(typeof entry.owner === "string" ? { owner: entry.owner } : {}),
    });
  }
  if (issues.length > 0) throw cloudConfigError(path, issues);
  return {
    users,
    packages: strings(record.packages) ? record.packages : [],
    runcmd: strings(record.runcmd) ? record.runcmd : [],
    writeFiles,
    ...(typeof record.hostname === "string" ? { hostname: record.hostname } : {}),
  };
}

export interface ProjectSpecInput {
  env: ProjectEnv;
  identity: ProjectIdentity;
  /** The login user (SSH_USER or the caller's user name). */
  sshUser: string;
  /** IMAGE as a path resolved against the folder, when it is one. */
  imagePath?: string;
  cloudConfig?: UserCloudConfig;
}

const WELL_KNOWN = /^[a-z][a-z0-9-]*:[0-9][0-9.]*$/;

function baseImage(env: ProjectEnv, imagePath: string | undefined): { images: Spec["images"]; baseImage: string } {
  if (imagePath !== undefined) return { images: undefined, baseImage: imagePath };
  const source = { source: env.IMAGE, ...(env.IMAGE_SHA256 === undefined ? {} : { sha256: env.IMAGE_SHA256.toLowerCase() }) };
  if (WELL_KNOWN.test(env.IMAGE) || env.IMAGE.startsWith("https://")) return { images: [{ name: "base", spec: source }], baseImage: "base" };
  return { images: undefined, baseImage: env.IMAGE };
}

/** FIXED_IP on a host bridge: nobody we control serves DHCP there, so the guest configures the address itself. */
function bridgeAddress(env: ProjectEnv): Pick<CloudInit, "networkConfig"> {
  if (env.NETWORK_TYPE !== "bridge" || env.FIXED_IP === undefined || env.GATEWAY === undefined) return {};
  const nameservers = env.DNS ?? [env.GATEWAY];
  // One NIC, whatever the image names it (eth0, ens3, enp1s0).
  return { networkConfig: { ethernets: [{ name: "e*", addresses: [env.FIXED_IP], gateway4: env.GATEWAY, nameservers: { addresses: nameservers } }] } };
}

/** The instance's users: ours (with the instance's key, sudo unless root) first, then the cloud-config's others. */
function instanceUsers(sshUser: string, cloudConfig: UserCloudConfig | undefined): NonNullable<CloudInit["users"]> {
  const ourUser = {
    name: sshUser,
    sshAuthorizedKeys: [`{{ .Keys.${PROJECT_KEY}.PublicKey }}`],
    ...(sshUser === "root" ? {} : { sudo: "ALL=(ALL) NOPASSWD:ALL", shell: "/bin/bash" }),
  };
  const otherUsers = (cloudConfig?.users ?? []).filter((user) => user.name !== sshUser);
  const mergedOurs = cloudConfig?.users.find((user) => user.name === sshUser);
  return [
    { ...mergedOurs, ...ourUser, sshAuthorizedKeys: [...ourUser.sshAuthorizedKeys, ...(mergedOurs?.sshAuthorizedKeys ?? [])] },
    ...otherUsers,
  ];
}

/** The instance's cloud-init: its hostname, the users, and what the user's CLOUD_CONFIG adds. */
function instanceCloudInit({ identity, sshUser, cloudConfig }: ProjectSpecInput): CloudInit {
  return {
    hostname: cloudConfig?.hostname ?? identity.name,
    users: instanceUsers(sshUser, cloudConfig),
    ...(cloudConfig && cloudConfig.packages.length > 0 ? { packages: cloudConfig.packages } : {}),
    ...(cloudConfig && cloudConfig.runcmd.length > 0 ? { runcmd: cloudConfig.runcmd } : {}),
    ...(cloudConfig && cloudConfig.writeFiles.length > 0 ? { writeFiles: cloudConfig.writeFiles } : {}),
  };
}

/** The instance of a project folder as a spec: an SSH key, the existing network, one VM (or container) that reaches SSH. */
export function projectSpec(input: ProjectSpecInput): Spec {
  if (input.env.INFRA_TYPE === "container") return containerProjectSpec(input);
  const { env, identity, sshUser } = input;
  const { images, baseImage: base } = baseImage(env, input.imagePath);
  return {
    providers: [{ name: "libvirt", engine: "testenv-vm-provider-libvirt" }],
    keys: [{ name: PROJECT_KEY, spec: { type: "ed25519", comment: `testenv-vm ${identity.name}` } }],
    networks: [
      {
        name: PROJECT_NETWORK,
        kind: env.NETWORK_TYPE === "default" ? "libvirt" : "bridge",
        external: env.NETWORK_TYPE === "default" ? env.NETWORK : env.BRIDGE,
        spec: {},
      },
    ],
    ...(images === undefined ? {} : { images }),
    vms: [
      {
        name: identity.name,
        spec: {
          memory: env.MEMORY,
          vcpus: env.CPUS,
          networks: [PROJECT_NETWORK],
          ...(env.FIXED_IP !== undefined && env.NETWORK_TYPE === "default" ? { fixedIPs: { [PROJECT_NETWORK]: env.FIXED_IP } } : {}),
          disk: { baseImage: base, size: `${env.DISK}G` },
          cloudInit: { ...instanceCloudInit(input), ...bridgeAddress(env) },
          // Ready means cloud-init has finished too: provisioning must find the users, sudo rules and packages
          // of the cloud-config in place, not race them.
          readiness: {
            ssh: { enabled: true, user: sshUser, privateKey: `{{ .Keys.${PROJECT_KEY}.PrivateKeyPath }}`, timeout: `${env.READY_TIMEOUT}s` },
            cloudInit: { enabled: true, timeout: `${env.READY_TIMEOUT}s` },
          },
        },
      },
    ],
  };
}

/** podman's own default network, which NETWORK=default means for a container. */
export const PODMAN_DEFAULT_NETWORK = "podman";

/** The host bridge NETWORK_TYPE=bridge names, as the spec's external network (used, never created or deleted). */
export const PROJECT_HOST_BRIDGE = "lan";

/**
 * A container's network: podman's own (or the one NETWORK names), or, on a host bridge, a podman network of ours
 * attached to that bridge. That network has no cidr of its own: the provider takes the bridge's subnet, so the
 * LAN's addresses never enter subnet isolation (which moves only the spec's literal subnets).
 */
function containerNetworks(env: ProjectEnv): NonNullable<Spec["networks"]> {
  if (env.NETWORK_TYPE !== "bridge") return [{ name: PROJECT_NETWORK, kind: "bridge", external: env.NETWORK === "default" ? PODMAN_DEFAULT_NETWORK : env.NETWORK, spec: {} }];
  return [
    { name: PROJECT_HOST_BRIDGE, kind: "bridge", external: env.BRIDGE, spec: {} },
    { name: PROJECT_NETWORK, kind: "bridge", spec: { attachTo: PROJECT_HOST_BRIDGE } },
  ];
}

/**
 * A container instance: the same key, network and SSH readiness as a VM, on the podman provider. The image is the
 * provider's sshd + python3 + sudo Debian image unless IMAGE names another; DISK does not apply (overlay storage on
 * ext4 has no per-container quota), FIXED_IP is the container's address on the network.
 */
function containerProjectSpec(input: ProjectSpecInput): Spec {
  const { env, identity, sshUser } = input;
  const image = input.imagePath ?? (env.IMAGE === "debian:12" ? undefined : env.IMAGE);
  return {
    providers: [{ name: "podman", engine: "testenv-vm-provider-podman" }],
    keys: [{ name: PROJECT_KEY, spec: { type: "ed25519", comment: `testenv-vm ${identity.name}` } }],
    networks: containerNetworks(env),
    vms: [
      {
        name: identity.name,
        spec: {
          memory: env.MEMORY,
          vcpus: env.CPUS,
          networks: [PROJECT_NETWORK],
          // On a bridge FIXED_IP carries its prefix (the subnet is the bridge's); the container takes the address.
          container: { ...(image === undefined ? {} : { image }), ...(env.FIXED_IP === undefined ? {} : { ip: env.FIXED_IP.split("/")[0] }) },
          // A container honours users and hostname; the rest of a CLOUD_CONFIG is refused, naming the field.
          cloudInit: instanceCloudInit(input),
          readiness: { ssh: { enabled: true, user: sshUser, privateKey: `{{ .Keys.${PROJECT_KEY}.PrivateKeyPath }}`, timeout: `${env.READY_TIMEOUT}s` } },
        },
      },
    ],
  };
}
