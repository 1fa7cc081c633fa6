import { z } from "zod";
import { CREATES_PATH } from "./config-schema.js";

// The podman provider's config (providers[].spec): here in api/ so the engine checks it before starting the provider;
// defaults that read the host stay in providers/podman/config.ts.

const text = (description: string) => z.string().min(1).optional().describe(description);
/** A directory the provider makes on this host. */
const createdDir = (description: string) => z.string().min(1).meta(CREATES_PATH).optional().describe(description);

export const PodmanProviderConfig = z.strictObject({
  podman: z.string().min(1).default("podman").describe("The podman binary (path or command name)."),
  root: createdDir("Where the provider keeps podman's storage, run state, network configs, its config files and records. Default TESTENV_VM_PODMAN_ROOT, then /var/lib/testenv-vm/podman (root) or ~/.local/share/testenv-vm/podman."),
  storageRoot: createdDir("podman's graphroot (images, container layers); default <root>/storage. Keep it stable: the base image is cached there."),
  runRoot: createdDir("podman's runroot; default <root>/run."),
  networkConfigDir: createdDir("Where podman keeps network definitions; default <root>/networks."),
  runtime: text("OCI runtime (runc, crun or a path); default: runc on hybrid cgroups, else podman's choice."),
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
