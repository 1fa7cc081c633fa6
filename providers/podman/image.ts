import { createHash } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { withFileLock } from "../../lib/file-lock.js";
import type { Logger } from "../../lib/log.js";
import { run } from "../../lib/run.js";
import { ProviderError } from "../kit/index.js";
import type { PodmanCli } from "./cli.js";
import { LABEL, MANAGED_BY } from "./labels.js";

// The image a container runs: the provider's own base image (built once with mmdebstrap and imported, no
// registry needed), a local image, an OCI archive, or a registry reference (pulled where a registry answers).
// The base image is named by a hash of its recipe, so a changed recipe builds a new one and an unchanged one is
// found in podman's storage (which is why that storage should live at a stable path).

export const BASE_IMAGE_REPO = "localhost/testenv-vm-base";
const PACKAGES = ["openssh-server", "python3", "sudo"];

/** The base image's CMD: a per-container ed25519 host key (fast, and never baked into the image), then sshd. */
export const START_SSHD = [
  "#!/bin/sh",
  "set -e",
  "mkdir -p /run/sshd",
  "[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key",
  "exec /usr/sbin/sshd -D -e -o HostKey=/etc/ssh/ssh_host_ed25519_key",
  "",
].join("\n");

// mmdebstrap runs this with the new root as $1: the host keys openssh-server's postinst made are removed.
const CUSTOMIZE_HOOK =
  `rm -f "$1"/etc/ssh/ssh_host_* && mkdir -p "$1"/usr/local/sbin && ` +
  `printf '%s' '${START_SSHD.replace(/'/g, `'"'"'`)}' > "$1"/usr/local/sbin/start-sshd && chmod 755 "$1"/usr/local/sbin/start-sshd`;

export interface BaseImageRecipe {
  suite: string;
  mirror: string;
}

export function baseImageTag(recipe: BaseImageRecipe): string {
  const hash = createHash("sha256").update(JSON.stringify({ v: 1, ...recipe, packages: PACKAGES, hook: CUSTOMIZE_HOOK })).digest("hex").slice(0, 16);
  return `${BASE_IMAGE_REPO}:${hash}`;
}

export function mmdebstrapArgs(recipe: BaseImageRecipe, output: string): string[] {
  return ["--variant=minbase", `--include=${PACKAGES.join(",")}`, "--components=main", `--customize-hook=${CUSTOMIZE_HOOK}`, recipe.suite, output, recipe.mirror];
}

export function importArgs(tarball: string, tag: string): string[] {
  return ["import", "--change", 'CMD ["/usr/local/sbin/start-sshd"]', "--change", "EXPOSE 22", "--change", `LABEL ${LABEL.managedBy}=${MANAGED_BY}`, tarball, tag];
}

const OCI_ARCHIVE = "oci-archive:";

export class ImageStore {
  constructor(
    private readonly podman: PodmanCli,
    private readonly root: string,
    private readonly recipe: BaseImageRecipe,
    private readonly log: Logger,
  ) {}

  /** A reference podman can run without a registry (or after a pull); the field names the spec in errors. */
  async resolve(reference: string | undefined): Promise<string> {
    if (reference === undefined || reference === "") return this.ensureBase();
    const archive = reference.startsWith(OCI_ARCHIVE) ? reference.slice(OCI_ARCHIVE.length) : reference.endsWith(".tar") ? reference : undefined;
    if (archive !== undefined) return this.load(archive);
    if (await this.podman.exists("image", reference)) return reference;
    try {
      await this.podman.run(["pull", "--quiet", reference], { timeoutMs: 300_000 });
      return reference;
    } catch (error) {
      throw new ProviderError(
        "PROVIDER_ERROR",
        `spec.container.image: "${reference}" is not in podman's local storage and pulling it failed (${error instanceof Error ? error.message : String(error)}); ` +
          "on a host without a registry use a local image (localhost/name:tag), an OCI archive (oci-archive:/path.tar) or leave image empty for the built-in base image",
        { cause: error },
      );
    }
  }

  private async load(path: string): Promise<string> {
    const exists = await stat(path).then((s) => s.isFile(), () => false);
    if (!exists) throw new ProviderError("INVALID_SPEC", `spec.container.image: OCI archive ${path} does not exist`);
    const output = await this.podman.run(["load", "--quiet", "--input", path], { timeoutMs: 600_000 });
    const loaded = /Loaded image(?:\(s\))?:\s*(\S+)/.exec(output)?.[1]?.split(",")[0];
    if (loaded === undefined) throw new ProviderError("PROVIDER_ERROR", `podman load ${path} named no image: ${output.trim()}`);
    return loaded;
  }

  private baseReady: string | undefined;
  private readonly commands = new Map<string, string[]>();

  /** The base image's tag, building it first (once, under a lock shared by every provider process) if needed. */
  async ensureBase(): Promise<string> {
    this.baseReady ??= await this.findOrBuildBase();
    return this.baseReady;
  }

  private async findOrBuildBase(): Promise<string> {
    const tag = baseImageTag(this.recipe);
    if (await this.podman.exists("image", tag)) return tag;
    const busy = (): Error => new ProviderError("TIMEOUT", `another process has been building ${tag} for too long`);
    return withFileLock(join(this.root, "base-image"), { waitMs: 30 * 60_000, busy }, async () => {
      if (await this.podman.exists("image", tag)) return tag;
      await this.build(tag);
      return tag;
    });
  }

  private async build(tag: string): Promise<void> {
    const dir = await mkdtemp(join(this.root, "build-"));
    const tarball = join(dir, "rootfs.tar");
    const started = Date.now();
    try {
      this.log.info(`building the base image ${tag} with mmdebstrap (${this.recipe.suite} from ${this.recipe.mirror})`);
      await run("mmdebstrap", mmdebstrapArgs(this.recipe, tarball), { timeoutMs: 20 * 60_000 }).catch((error: unknown) => {
        throw new ProviderError(
          "PROVIDER_ERROR",
          `building the base image failed (mmdebstrap needs the Debian archive ${this.recipe.mirror}; install mmdebstrap, or name an image in spec.container.image): ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      });
      await this.podman.run(importArgs(tarball, tag), { timeoutMs: 600_000 });
      this.log.info(`base image ${tag} built`, { ms: Date.now() - started });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Entrypoint + Cmd of an image: what runs when a container names no command. */
  async defaultCommand(image: string): Promise<string[]> {
    const known = this.commands.get(image);
    if (known !== undefined) return known;
    const [info] = await this.podman.json<Array<{ Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null } }>>(["image", "inspect", "--format", "json", image]);
    const command = [...(info?.Config?.Entrypoint ?? []), ...(info?.Config?.Cmd ?? [])];
    this.commands.set(image, command);
    return command;
  }
}
