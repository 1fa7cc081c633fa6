import { isWellKnownRef } from "../image/registry.js";

// Image sources a spec may name. The table of well-known references is deliberately small; the image
// cache owns the download URLs and may replace this table with its own registry.

export interface WellKnownImage {
  ref: string;
  description: string;
}

export const WELL_KNOWN_IMAGES: readonly WellKnownImage[] = [
  { ref: "ubuntu:24.04", description: "Ubuntu 24.04 LTS cloud image (amd64)" },
  { ref: "ubuntu:22.04", description: "Ubuntu 22.04 LTS cloud image (amd64)" },
  { ref: "debian:12", description: "Debian 12 generic cloud image (amd64)" },
  { ref: "debian:13", description: "Debian 13 generic cloud image (amd64)" },
];

export function isWellKnownImageRef(source: string): boolean {
  return isWellKnownRef(source);
}

export type ImageSourceKind = "well-known" | "https" | "file";

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// `distro:version` without a slash reads as a well-known reference, not a relative path.
const REF_LIKE = /^[a-zA-Z][a-zA-Z0-9._-]*:[a-zA-Z0-9._-]+$/;

export function imageSourceKind(source: string): ImageSourceKind | undefined {
  if (isWellKnownImageRef(source)) return "well-known";
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === "https") return "https";
  if (scheme === "file") return "file";
  if (scheme !== undefined || REF_LIKE.test(source) || source.trim() === "") return undefined;
  return "file";
}

export interface ImageSourceProblem {
  field: "source" | "sha256";
  message: string;
}

/** What is wrong with an image source (and its checksum), or undefined. */
export function imageSourceProblem(source: string, sha256: string | undefined): ImageSourceProblem | undefined {
  const problem = (field: ImageSourceProblem["field"], message: string): ImageSourceProblem => ({ field, message });
  const known = WELL_KNOWN_IMAGES.map((image) => image.ref).join(", ");
  const kind = imageSourceKind(source);
  if (kind === undefined) {
    const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
    if (scheme === "http") return problem("source", `source ${JSON.stringify(source)} uses plain http; use an https:// URL (with sha256) or a local file`);
    if (scheme !== undefined) return problem("source", `source ${JSON.stringify(source)} has an unsupported scheme ${scheme}://; use https://, file:// or a path`);
    if (source.trim() === "") return problem("source", "source is empty");
    return problem("source", `source ${JSON.stringify(source)} is not a well-known image; known: ${known} (or use an https:// URL or a local path)`);
  }
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) return problem("sha256", `sha256 must be 64 hex characters, got ${JSON.stringify(sha256)}`);
  if (kind === "https" && sha256 === undefined) return problem("sha256", `source ${JSON.stringify(source)} is downloaded over https and needs a sha256 checksum`);
  return undefined;
}
