import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-file.js";
import type { ResolvedConfig } from "./config.js";

// podman reads its settings from CONTAINERS_CONF / CONTAINERS_STORAGE_CONF files the provider writes under its
// own root, so nothing in /etc/containers or /var/lib/containers is read or changed.

const toml = (value: string): string => JSON.stringify(value);
const tomlList = (values: readonly string[]): string => `[${values.map(toml).join(", ")}]`;

export function containersConf(config: ResolvedConfig): string {
  const lines = [
    "[containers]",
    `log_driver = "k8s-file"`,
    ...(config.ulimits.length > 0 ? [`default_ulimits = ${tomlList(config.ulimits)}`] : []),
    "",
    "[engine]",
    `cgroup_manager = ${toml(config.cgroupManager)}`,
    `events_logger = ${toml(config.eventsLogger)}`,
    ...(config.eventsLogger === "file" ? [`events_logfile_path = ${toml(join(config.root, "events.log"))}`] : []),
    ...(config.runtime !== undefined ? [`runtime = ${toml(config.runtime)}`] : []),
    `tmp_dir = ${toml(join(config.runRoot, "libpod-tmp"))}`,
    `volume_path = ${toml(join(config.storageRoot, "volumes"))}`,
    "",
    "[network]",
    `network_backend = "netavark"`,
    `network_config_dir = ${toml(config.networkConfigDir)}`,
    "",
  ];
  return lines.join("\n");
}

export function storageConf(config: ResolvedConfig): string {
  return ["[storage]", `driver = "overlay"`, `graphroot = ${toml(config.storageRoot)}`, `runroot = ${toml(config.runRoot)}`, ""].join("\n");
}

/** The environment podman runs with: both files under the root. Writes nothing (inspect mode uses it as it is). */
export function confEnv(config: ResolvedConfig): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: join(config.root, "containers.conf"), CONTAINERS_STORAGE_CONF: join(config.root, "storage.conf") };
}

/** Writes both files and returns the environment podman runs with. */
export async function writeConfFiles(config: ResolvedConfig): Promise<NodeJS.ProcessEnv> {
  const env = confEnv(config);
  await mkdir(config.root, { recursive: true, mode: 0o755 });
  await writeFileAtomic(env.CONTAINERS_CONF ?? "", containersConf(config), { mode: 0o644 });
  await writeFileAtomic(env.CONTAINERS_STORAGE_CONF ?? "", storageConf(config), { mode: 0o644 });
  return env;
}
