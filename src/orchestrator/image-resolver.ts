import type { Spec } from "../../api/spec.js";
import type { Logger } from "../../lib/log.js";
import { TestenvError } from "../errors.js";
import { safeEmit, type ProgressListener } from "./progress.js";

export interface ImageResolver {
  resolve(name: string): Promise<{ name: string; path: string; alias?: string }>;
}

const MIB = 1048576;

/** Images of the spec, fetched into the cache on first use (the cache module loads only when an image is needed). */
export function imageResolver(options: { spec: Spec; rootDir: string; env: NodeJS.ProcessEnv; log: Logger; onProgress?: ProgressListener }): ImageResolver {
  const { spec, rootDir, env, log, onProgress } = options;
  return {
    async resolve(name) {
      const image = spec.images?.find((i) => i.name === name);
      if (!image) throw new TestenvError("SPEC_INVALID", `image ${name} is not defined in images`);
      const { ImageCache, resolveImageCacheDir } = await import("../image/cache.js");
      const cache = new ImageCache({ cacheDir: resolveImageCacheDir({ specDir: spec.imageCacheDir, env, rootDir }), log: log.child("image") });
      const cached = await cache.ensure(image, {
        rootDir,
        onProgress: (p) =>
          safeEmit(onProgress, {
            kind: "info",
            status: "start",
            resource: { kind: "image", name },
            message: `image ${name}: ${(p.bytes / MIB).toFixed(1)} MiB${p.total ? ` of ${(p.total / MIB).toFixed(1)} MiB` : ""} at ${(p.bytesPerSecond / MIB).toFixed(1)} MiB/s`,
          }),
      });
      return { name, path: cached.path, ...(image.spec.alias ? { alias: image.spec.alias } : {}) };
    },
  };
}
