import { createHash } from "node:crypto";
import { basename, resolve } from "node:path";

// Which instance a folder owns. The same folder always finds its own instance, and two folders with the same
// name in different places never collide: the name is the folder's readable name plus a short hash of its path.

const MAX_READABLE = 24;

/** Lower-case letters, digits and single dashes, as libvirt and podman names and our resource names allow. */
export function sanitizeName(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_READABLE)
    .replace(/-+$/g, "");
  return cleaned === "" ? "project" : cleaned;
}

export interface ProjectIdentity {
  /** Absolute path of the project folder. */
  folder: string;
  /** The instance name: `NAME`, or `<folder name>-<hash of the path>`. Also the environment's testID. */
  name: string;
}

export function projectIdentity(folder: string, explicitName?: string): ProjectIdentity {
  const absolute = resolve(folder);
  if (explicitName !== undefined) return { folder: absolute, name: explicitName };
  const hash = createHash("sha256").update(absolute, "utf8").digest("hex").slice(0, 6);
  return { folder: absolute, name: `${sanitizeName(basename(absolute))}-${hash}` };
}
