import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { TestenvError } from "../errors.js";
import { type WellKnownImage, WELL_KNOWN_IMAGES, hostArch, isWellKnownRef, resolveWellKnown } from "./registry.js";

export type ImageSource =
  | { kind: "download"; url: string; wellKnown?: string }
  | { kind: "local"; path: string; looksLikeRef: boolean };

export interface ClassifyOptions {
  rootDir: string;
  arch?: string;
  registry?: Record<string, WellKnownImage>;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const REF_SHAPE = /^[a-z][a-z0-9._-]*:[a-z0-9._-]+$/i;

/** What a spec's `images[].spec.source` names: something to download, or a file on this host. */
export function classifySource(name: string, source: string, options: ClassifyOptions): ImageSource {
  const registry = options.registry ?? WELL_KNOWN_IMAGES;
  if (source.trim() === "") throw new TestenvError("IMAGE_ERROR", `image ${name}: source is empty`);
  if (isWellKnownRef(source, registry)) {
    return { kind: "download", url: resolveWellKnown(source, options.arch ?? hostArch(), registry), wellKnown: source };
  }
  const scheme = SCHEME.exec(source)?.[1]?.toLowerCase();
  if (scheme === "https") return { kind: "download", url: source };
  if (scheme === "file") {
    try {
      return { kind: "local", path: fileURLToPath(source), looksLikeRef: false };
    } catch (error) {
      throw new TestenvError("IMAGE_ERROR", `image ${name}: ${source} is not a usable file:// URL (${(error as Error).message})`, { cause: error });
    }
  }
  if (scheme !== undefined) {
    throw new TestenvError(
      "IMAGE_ERROR",
      `image ${name}: source ${source} uses ${scheme}://; use https:// (with a sha256), file://, a local path or a well-known image`,
    );
  }
  const path = isAbsolute(source) ? source : resolve(options.rootDir, source);
  return { kind: "local", path, looksLikeRef: REF_SHAPE.test(source) };
}
