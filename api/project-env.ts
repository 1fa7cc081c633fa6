import { z } from "zod";

// The project folder's `.env` (seed 001): flat KEY=value lines that describe one instance. This schema is the
// single source of truth for the keys, their defaults and their meaning; docs/project-folder.md's reference table
// is generated from it. Values arrive as strings (dotenv), so numbers and lists are parsed here.

const integer = (what: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number of ${what}, such as ${min * 4}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min} ${what}`).max(max, `must be at most ${max} ${what}`));

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV4_WITH_PREFIX = new RegExp(`${IPV4.source.slice(0, -1)}(/(3[0-2]|[12]?\\d))?$`);

/** `[hostIP:]hostPort:guestPort[/tcp|udp]`, comma-separated. */
export const PortForward = z.object({
  hostIP: z.string(),
  hostPort: z.number().int(),
  guestPort: z.number().int(),
  protocol: z.enum(["tcp", "udp"]),
});
export type PortForward = z.infer<typeof PortForward>;

const PORT_ENTRY = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/;

function parsePorts(value: string, context: z.RefinementCtx): PortForward[] {
  const forwards: PortForward[] = [];
  for (const [index, raw] of value.split(",").entries()) {
    const entry = raw.trim();
    if (entry === "") continue;
    const match = PORT_ENTRY.exec(entry);
    const hostIP = match?.[1] ?? "127.0.0.1";
    const hostPort = Number(match?.[2]);
    const guestPort = Number(match?.[3]);
    const valid = match !== null && IPV4.test(hostIP) && [hostPort, guestPort].every((p) => p >= 1 && p <= 65535);
    if (!valid) {
      context.addIssue({
        code: "custom",
        message: `entry ${index + 1} "${entry}" is not [hostIP:]hostPort:guestPort[/tcp|udp] with ports 1-65535, such as 8080:80 or 127.0.0.1:2222:22/tcp`,
      });
      continue;
    }
    forwards.push({ hostIP, hostPort, guestPort, protocol: (match[4] as "tcp" | "udp" | undefined) ?? "tcp" });
  }
  const seen = new Set<string>();
  for (const forward of forwards) {
    const key = `${forward.hostIP}:${forward.hostPort}/${forward.protocol}`;
    if (seen.has(key)) context.addIssue({ code: "custom", message: `host port ${key} is forwarded twice` });
    seen.add(key);
  }
  return forwards;
}

/** A relative path inside the project folder: no absolute paths, no `..` escapes. */
const projectPath = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((path) => !path.startsWith("/") && !path.split(/[\\/]/).includes(".."), {
      message: `must be a path relative to the project folder (no leading / and no ..), such as ${what}`,
    });

export const ProjectEnv = z.strictObject({
  INFRA_TYPE: z.enum(["vm", "container"], { error: "must be vm or container" }).describe("What to run: `vm` (libvirt) or `container` (podman)."),
  MEMORY: integer("MiB", 128, 1_048_576).describe("Memory in MiB, exactly as the guest sees it."),
  CPUS: integer("vCPUs", 1, 256).describe("Number of virtual CPUs."),
  DISK: integer("GiB", 1, 65_536).describe("Disk size in GiB (the root disk grows to this size). Validated but not applicable to containers: overlay storage on ext4 has no per-container quota."),
  NETWORK_TYPE: z
    .enum(["default", "bridge"], { error: "must be default or bridge" })
    .default("default")
    .describe("`default`: libvirt's existing network (`NETWORK`, default `default`); `bridge`: an existing host bridge (`BRIDGE`)."),
  NETWORK: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "must be a libvirt network name such as default")
    .default("default")
    .describe("The existing libvirt network used when NETWORK_TYPE=default (containers: a podman network; `default` means podman's own). Never created, changed or deleted."),
  BRIDGE: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, "must be a Linux interface name of at most 15 characters, such as br0")
    .default("br0")
    .describe("The existing host bridge used when NETWORK_TYPE=bridge. Never created or deleted."),
  PORTS: z
    .string()
    .transform(parsePorts)
    .default([])
    .describe("Port forwards, comma-separated `[hostIP:]hostPort:guestPort[/tcp|udp]`; hostIP defaults to 127.0.0.1."),
  PROVISION_SCRIPT: projectPath("provision.sh or playbook.yml")
    .optional()
    .describe("Run once after the first `up`: a `.yml`/`.yaml` file with ansible-playbook, anything else over SSH."),
  FIXED_IP: z
    .string()
    .trim()
    .regex(IPV4_WITH_PREFIX, "must be an IPv4 address such as 192.168.122.50 (with NETWORK_TYPE=bridge: with its prefix, 192.168.1.50/24)")
    .optional()
    .describe(
      "A fixed IPv4 address. NETWORK_TYPE=default: a DHCP host entry on the libvirt network (added by `up`, removed by `rm`); " +
        "NETWORK_TYPE=bridge: a static address with its prefix (192.168.1.50/24) configured in the guest, with GATEWAY and DNS; " +
        "INFRA_TYPE=container: the container's address on its podman network; on a bridge required, with its prefix, on the bridge's subnet (GATEWAY and DNS do not apply to a container there).",
    ),
  GATEWAY: z
    .string()
    .trim()
    .regex(IPV4, "must be an IPv4 address such as 192.168.1.1")
    .optional()
    .describe("The default gateway of a FIXED_IP on a bridge (NETWORK_TYPE=bridge); required there."),
  DNS: z
    .string()
    .trim()
    .transform((value) => value.split(",").map((part) => part.trim()).filter((part) => part !== ""))
    .refine((servers) => servers.length > 0 && servers.every((server) => IPV4.test(server)), "must be comma-separated IPv4 addresses such as 192.168.1.1,9.9.9.9")
    .optional()
    .describe("DNS servers of a FIXED_IP on a bridge, comma-separated; default: the GATEWAY."),
  IMAGE: z
    .string()
    .trim()
    .min(1)
    .default("debian:12")
    .describe("Base image: a well-known name (debian:12, ubuntu:24.04), a local qcow2 path, or an https URL with IMAGE_SHA256. Containers: debian:12 is the built-in sshd + python3 + sudo image; else a local image (localhost/name:tag), an OCI archive (.tar) or a registry reference."),
  IMAGE_SHA256: z
    .string()
    .trim()
    .regex(/^[0-9a-f]{64}$/i, "must be 64 hex digits (the image's SHA-256)")
    .optional()
    .describe("SHA-256 of an https IMAGE; required for URLs."),
  NAME: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be 1-40 lower-case letters, digits and dashes, starting with a letter or digit")
    .optional()
    .describe("Instance name (default: the folder's name plus a short hash of its path)."),
  SSH_USER: z
    .string()
    .trim()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name such as dev")
    .optional()
    .describe("The user `ssh` logs in as, created with the instance's key (default: your user name; root when you are root)."),
  CLOUD_CONFIG: projectPath("cloud-config.yaml")
    .optional()
    .describe("Your own `#cloud-config` file, merged with what testenv-vm generates (users, packages, runcmd, write_files)."),
  STOP_TIMEOUT: integer("seconds", 1, 3600)
    .default(60)
    .describe("How long `stop` waits for a graceful shutdown before it forces the instance off."),
  READY_TIMEOUT: integer("seconds", 5, 7200)
    .default(600)
    .describe("How long `up` waits for SSH to answer before it gives up."),
});
export type ProjectEnv = z.infer<typeof ProjectEnv>;

/** The keys a `.env` may hold, in the order of the reference table. */
export const PROJECT_ENV_KEYS = Object.keys(ProjectEnv.shape) as (keyof ProjectEnv)[];

/** Keys without a default: a `.env` must set them. */
export const REQUIRED_PROJECT_ENV_KEYS = ["INFRA_TYPE", "MEMORY", "CPUS", "DISK"] as const;
