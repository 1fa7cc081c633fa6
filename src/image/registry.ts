import { TestenvError } from "../errors.js";

// Well-known images are data: adding one is adding an entry. No checksum is pinned because upstream
// republishes these URLs with security updates; the cache records the digest it actually downloaded.

export type ImageArch = "amd64" | "arm64";

export interface WellKnownImage {
  description: string;
  urls: Partial<Record<ImageArch, string>>;
  format: "qcow2";
}

const ubuntu = (version: string, codename: string): WellKnownImage => ({
  description: `Ubuntu ${version} LTS (${codename}) server cloud image`,
  urls: {
    amd64: `https://cloud-images.ubuntu.com/releases/${version}/release/ubuntu-${version}-server-cloudimg-amd64.img`,
    arm64: `https://cloud-images.ubuntu.com/releases/${version}/release/ubuntu-${version}-server-cloudimg-arm64.img`,
  },
  format: "qcow2",
});

const debian = (version: string, codename: string): WellKnownImage => ({
  description: `Debian ${version} (${codename}) generic cloud image`,
  urls: {
    amd64: `https://cloud.debian.org/images/cloud/${codename}/latest/debian-${version}-genericcloud-amd64.qcow2`,
    arm64: `https://cloud.debian.org/images/cloud/${codename}/latest/debian-${version}-genericcloud-arm64.qcow2`,
  },
  format: "qcow2",
});

export const WELL_KNOWN_IMAGES: Record<string, WellKnownImage> = {
  "ubuntu:24.04": ubuntu("24.04", "noble"),
  "ubuntu:22.04": ubuntu("22.04", "jammy"),
  "debian:12": debian("12", "bookworm"),
  "debian:13": debian("13", "trixie"),
};

/** The architecture name cloud images use for this host (`amd64`, `arm64`), or Node's name when there is none. */
export function hostArch(): string {
  switch (process.arch) {
    case "x64":
      return "amd64";
    case "arm64":
      return "arm64";
    default:
      return process.arch;
  }
}

export function isWellKnownRef(ref: string, registry: Record<string, WellKnownImage> = WELL_KNOWN_IMAGES): boolean {
  return Object.hasOwn(registry, ref);
}

/** The download URL of a well-known image for an architecture. */
export function resolveWellKnown(
  ref: string,
  arch: string = hostArch(),
  registry: Record<string, WellKnownImage> = WELL_KNOWN_IMAGES,
): string {
  const image = isWellKnownRef(ref, registry) ? registry[ref] : undefined;
  if (image === undefined) {
    throw new TestenvError(
      "IMAGE_ERROR",
      `unknown well-known image "${ref}"; known images: ${Object.keys(registry).join(", ")}. ` +
        "Use one of them, an https:// URL with a sha256, or a local path.",
      { details: { ref, known: Object.keys(registry) } },
    );
  }
  const url = image.urls[arch as ImageArch];
  if (url === undefined) {
    const archs = Object.keys(image.urls).join(", ");
    throw new TestenvError(
      "IMAGE_ERROR",
      `well-known image "${ref}" has no ${arch} build (available: ${archs}); give an https:// URL with a sha256 or a local path instead.`,
      { details: { ref, arch } },
    );
  }
  return url;
}
