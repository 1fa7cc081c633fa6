import type { IsoSource, MachineSpec, VmDefinition } from "../../api/vm-manifest.js";
import type { Logger } from "../../lib/log.js";
import { TestenvError } from "../errors.js";

// ISO sources as the provider needs them: files. A URL goes through the verified image cache, and only when the
// manifest pins its sha256 or the user passed --allow-download (the seed's security note: no silent fetching).

export interface IsoResolveOptions {
  rootDir: string;
  env: NodeJS.ProcessEnv;
  allowDownload: boolean;
  /** false (status): only look the URL up in the cache, never fetch it. */
  fetch: boolean;
  log: Logger;
}

export function isUrlSource(source: IsoSource): source is Extract<IsoSource, { url: string }> {
  return "url" in source;
}

/** The cache's name for a manifest ISO: unique per VM and position, readable in `testenv-vm images`. */
const cacheName = (vm: string, index: number): string => `vm-manifest-${vm}-iso${index}`;

export async function resolveIsoSources(name: string, vm: VmDefinition, options: IsoResolveOptions): Promise<MachineSpec> {
  const urls = vm.iso_sources.flatMap((source, index) => (isUrlSource(source) ? [{ source, index }] : []));
  const refused = options.fetch ? urls.filter(({ source }) => source.sha256 === undefined && !options.allowDownload) : [];
  if (refused.length > 0) {
    const fields = refused.map(({ index }) => `vms.${name}.iso_sources[${index}]`).join(", ");
    throw new TestenvError(
      "SPEC_INVALID",
      `${fields}: an ISO URL is downloaded only when the manifest pins its sha256 or you pass --allow-download (${refused.map(({ source }) => source.url).join(", ")})`,
    );
  }
  const paths: string[] = [];
  if (urls.length > 0) {
    const { ImageCache, resolveImageCacheDir } = await import("../image/cache.js");
    const cache = new ImageCache({ cacheDir: resolveImageCacheDir({ env: options.env, rootDir: options.rootDir }), log: options.log.child("image") });
    const known = options.fetch ? [] : await cache.list();
    for (const { source, index } of urls) {
      if (!options.fetch) {
        paths[index] = known.find((entry) => entry.name === cacheName(name, index) && entry.source === source.url)?.path ?? `(not downloaded yet: ${source.url})`;
        continue;
      }
      const cached = await cache.ensure(
        { name: cacheName(name, index), spec: { source: source.url, ...(source.sha256 === undefined ? {} : { sha256: source.sha256 }) } },
        { rootDir: options.rootDir, allowUnpinned: options.allowDownload },
      );
      paths[index] = cached.path;
    }
  }
  return {
    ...vm,
    iso_sources: vm.iso_sources.map((source, index) => ({ path: isUrlSource(source) ? (paths[index] ?? "") : source.path })),
  };
}
