import { homedir } from "node:os";
import { join } from "node:path";
import { ProviderConfigError, parseProviderConfig, type ProviderContext } from "../kit/index.js";
import { LibvirtProviderConfig } from "../../api/libvirt-config.js";
import type { SshEndpoint } from "./ssh-host.js";

export const PROVIDER_NAME = "libvirt";
export const URI_ENV = "TESTENV_VM_LIBVIRT_URI";
/** Where a remote host keeps uploaded base images by digest, shared by every environment placed there. */
export const DEFAULT_REMOTE_IMAGE_DIR = "/var/lib/testenv-vm/images";

export { LibvirtProviderConfig };

export interface ResolvedConfig {
  /** The URI as configured (shown to users). */
  uri: string;
  /** The remote host, when uri names one over SSH; absent for the local host. */
  remote?: SshEndpoint;
  /** The libvirt daemon's socket on the remote host, forwarded over SSH. */
  remoteSocket?: string;
  imageCacheDir?: string;
  dataDir: string;
  /** dataDir is the per-environment default (not configured), so the provider may remove it when empty. */
  dataDirIsDefault: boolean;
  accelerator: "auto" | "kvm" | "tcg";
  machine: string;
  cpuModel: string | undefined;
  bridgePrefix: string | undefined;
  prefix: string | undefined;
  testID: string | undefined;
  /** The environment's state dir, recorded on what the provider makes so gc can look its owner up. */
  stateDir?: string | undefined;
  artifactDir: string | undefined;
}

export function defaultDataDir(prefix: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const leaf = prefix && /^[A-Za-z0-9_.-]+$/.test(prefix) && prefix !== ".." ? prefix : "default";
  if (process.getuid?.() === 0) return join("/var/lib/testenv-vm", leaf);
  const base = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "testenv-vm", leaf);
}

export function resolveConfig(context: ProviderContext, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const config = parseProviderConfig(LibvirtProviderConfig, context, PROVIDER_NAME);
  if (config.hosts !== undefined) throw new ProviderConfigError("providers[].config.hosts: a pool is placed by the testenv-vm engine, which starts the provider with one host's uri; this provider was started with the pool itself");
  const uri = config.uri ?? (env[URI_ENV] || "qemu:///system");
  const remote = remoteEndpoint(uri, config.ssh);
  return {
    uri,
    ...(remote ? { remote, remoteSocket: remoteLibvirtSocket(uri) } : {}),
    imageCacheDir: config.imageCacheDir ?? DEFAULT_REMOTE_IMAGE_DIR,
    dataDir: config.dataDir ?? defaultDataDir(context.prefix, env),
    dataDirIsDefault: config.dataDir === undefined && context.prefix !== undefined,
    accelerator: config.accelerator,
    machine: config.machine ?? "pc",
    cpuModel: config.cpuModel,
    bridgePrefix: config.bridgePrefix,
    prefix: context.prefix,
    testID: context.testID,
    stateDir: context.stateDir,
    artifactDir: context.artifactDir,
  };
}

/** The SSH endpoint of a `qemu+ssh://user@host[:port]/system` URI; undefined for any other transport. */
export function remoteEndpoint(uri: string, ssh: LibvirtProviderConfig["ssh"]): SshEndpoint | undefined {
  if (!uri.startsWith("qemu+ssh://")) {
    if (ssh !== undefined) throw new ProviderConfigError(`providers[].config.ssh is for a uri qemu+ssh://user@host/system; uri is ${uri}`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new ProviderConfigError(`providers[].config.uri: "${uri}" is not a URI such as qemu+ssh://root@host/system`);
  }
  if (parsed.hostname === "") throw new ProviderConfigError(`providers[].config.uri: "${uri}" names no host`);
  return {
    user: decodeURIComponent(parsed.username) || "root",
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port === "" ? 22 : Number(parsed.port),
    key: ssh?.key,
    knownHosts: ssh?.knownHosts,
  };
}

/** The daemon's socket on the host of a qemu+ssh URI: its `socket` parameter, else the system daemon's. */
export function remoteLibvirtSocket(uri: string): string {
  const parsed = new URL(uri);
  const socket = parsed.searchParams.get("socket");
  if (socket !== null && socket.startsWith("/")) return socket;
  if (parsed.pathname !== "/system") {
    throw new ProviderConfigError(`providers[].config.uri: "${uri}" names no system daemon; use qemu+ssh://user@host/system, or name the daemon's socket with ?socket=/path`);
  }
  // libvirtd's socket; with modular daemons virtproxyd serves it.
  return "/run/libvirt/libvirt-sock";
}
