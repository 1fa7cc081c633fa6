import { homedir } from "node:os";
import { join } from "node:path";
import { PodmanProviderConfig } from "../../api/podman-config.js";
import { parseProviderConfig, type ProviderContext } from "../kit/index.js";
import { chooseRuntime, type HostFacts } from "./host.js";

export const PROVIDER_NAME = "podman";
/** The root when the config names none (project folders have no provider config). */
export const ROOT_ENV = "TESTENV_VM_PODMAN_ROOT";

export { PodmanProviderConfig };

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
