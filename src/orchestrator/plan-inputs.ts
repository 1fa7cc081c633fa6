import { statSync } from "node:fs";
import type { Spec } from "../../api/spec.js";
import { classifySource } from "../image/source.js";
import { isPlaceholder } from "./plan-placeholders.js";

// Local files a plan depends on: a changed base image makes the plan stale even when the spec is the same.

/** Size and mtime, cheap enough for multi-GiB images; `missing` when the file is not there. */
export function fileFingerprint(path: string): string {
  try {
    const info = statSync(path);
    return `size:${info.size},mtimeMs:${Math.trunc(info.mtimeMs)}`;
  } catch {
    return "missing";
  }
}

/** Paths of the spec's local image sources, keyed by image name. */
export function localImagePaths(spec: Spec, rootDir: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const image of spec.images ?? []) {
    try {
      const source = classifySource(image.name, image.spec.source, { rootDir });
      if (source.kind === "local") paths.set(image.name, source.path);
    } catch {
      // An unusable source fails the create when the image is resolved; the plan shows a placeholder.
    }
  }
  return paths;
}

/** Fingerprints of every local file among `paths` (placeholders skipped), sorted by path. */
export function inputFingerprints(paths: Iterable<string>): Record<string, string> {
  const unique = [...new Set([...paths].filter((path) => path !== "" && !isPlaceholder(path)))].sort();
  return Object.fromEntries(unique.map((path) => [path, fileFingerprint(path)]));
}
