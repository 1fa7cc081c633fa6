import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { parseProviderConfig, type ProviderContext } from "../kit/index.js";
import { chooseRuntime, type HostFacts } from "./host.js";

export const PROVIDER_NAME = "podman";
/** The root when the config names none (project folders have no provider config). */
export const ROOT_ENV = "TESTENV_VM_PODMAN_ROOT";

const path = (description: string) => z.string().min(1).optional().describe(description);

export const PodmanProviderConfig = z.strictObject({
  podman: z.string().min(1).default("podman").describe("The podman binary (path or command name)."),
  root: path("Where the provider keeps podman's storage, run state, network configs, its config files and records. Default TESTENV_VM_PODMAN_ROOT, then /var/lib/testenv-vm/podman (root) or ~/.local/share/testenv-vm/podman."),
  storageRoot: path("podman's graphroot (images, container layers); default <root>/storage. Keep it stable: the base image is cached there."),
  runRoot: path("podman's runroot; default <root>/run."),
  networkConfigDir: path("Where podman keeps network definitions; default <root>/networks."),
  runtime: path("OCI runtime (runc, crun or a path); default: runc on hybrid cgroups, else podman's choice."),
  cgroupManager: z.enum(["cgroupfs", "systemd"]).optional().describe("Default: systemd when PID 1 is systemd, else cgroupfs."),
  eventsLogger: z.enum(["file", "journald", "none"]).optional().describe("Default: journald under systemd, else file."),
  ulimits: z.array(z.string().regex(/^[a-z]+=\d+(:\d+)?$/, "like nofile=20000:20000")).optional().describe("Default ulimits of every container; default: within this process's hard limits when it lacks CAP_SYS_RESOURCE."),
  baseImage: z
    .strictObject({
      suite: z.string().regex(/^[a-z]+$/).default("bookworm").describe("Debian suite of the built base image."),
      mirror: z.string().url().default("http://deb.debian.org/debian").describe("Debian mirror mmdebstrap uses."),
    })
    .default({ suite: "bookworm", mirror: "http://deb.debian.org/debian" })
    .describe("The sshd + python3 + sudo image used when a container names no image."),
});
export type PodmanProviderConfig = z.infer<typeof PodmanProviderConfig>;

export interface ResolvedConfig {
  podman: string;
  root: string;
  storageRoot: string;
  runRoot: string;
  networkConfigDir: string;
  runtime: string | undefined;
  cgroupManager: "cgroupfs" | "systemd";
  eventsLogger: "file" | "journald" | "none";
  ulimits: string[];
  baseImage: { suite: string; mirror: string };
  prefix: string | undefined;
  testID: string | undefined;
  artifactDir: string | undefined;
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return "/var/lib/testenv-vm/podman";
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "testenv-vm", "podman");
}

/** The config with every default filled in; what is not configured is chosen from the host's facts. */
export function resolveConfig(context: ProviderContext, facts: HostFacts, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const config = parseProviderConfig(PodmanProviderConfig, context, PROVIDER_NAME);
  const detected = chooseRuntime(facts);
  const root = config.root ?? (env[ROOT_ENV] || defaultRoot(env));
  return {
    podman: config.podman,
    root,
    storageRoot: config.storageRoot ?? join(root, "storage"),
    runRoot: config.runRoot ?? join(root, "run"),
    networkConfigDir: config.networkConfigDir ?? join(root, "networks"),
    runtime: config.runtime ?? detected.runtime,
    cgroupManager: config.cgroupManager ?? detected.cgroupManager,
    eventsLogger: config.eventsLogger ?? detected.eventsLogger,
    ulimits: config.ulimits ?? detected.ulimits,
    baseImage: config.baseImage,
    prefix: context.prefix,
    testID: context.testID,
    artifactDir: context.artifactDir,
  };
}
