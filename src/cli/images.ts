import { resolve } from "node:path";
import type { ImageResource } from "../../api/spec.js";
import { TestenvError } from "../errors.js";
import type { CachedImage, ImageCache, ImageProgress } from "../image/cache.js";
import { loadSpecFile } from "../spec/load.js";
import { UsageError, booleanFlag, stringFlag } from "./args.js";
import { registerCommand, reportFailure, type CommandContext } from "./commands.js";
import { EXIT, type ExitCode } from "./exit-codes.js";

// `testenv-vm images list|pull|prune`: the verified image cache from a terminal.

const SUBCOMMANDS = ["list", "pull", "prune"] as const;

async function openCache(context: CommandContext): Promise<{ cache: ImageCache; cacheDir: string }> {
  const { ImageCache, resolveImageCacheDir } = await import("../image/cache.js");
  const explicit = stringFlag(context.args.flags, "cache-dir");
  let specDir: string | undefined;
  if (explicit === undefined && stringFlag(context.args.flags, "spec") !== undefined) specDir = (await specOf(context)).imageCacheDir;
  const cacheDir = explicit !== undefined ? resolve(context.cwd, explicit) : resolveImageCacheDir({ ...(specDir ? { specDir } : {}), env: context.env, rootDir: context.cwd });
  return { cache: new ImageCache({ cacheDir }), cacheDir };
}

async function specOf(context: CommandContext): Promise<{ images: ImageResource[]; imageCacheDir?: string }> {
  const name = stringFlag(context.args.flags, "name");
  const loaded = await loadSpecFile(resolve(context.cwd, stringFlag(context.args.flags, "spec") ?? "forge.yaml"), name === undefined ? {} : { name });
  return { images: loaded.spec.images ?? [], ...(loaded.spec.imageCacheDir ? { imageCacheDir: loaded.spec.imageCacheDir } : {}) };
}

/** `debian:12` → `debian-12`; a path or URL → its file name. */
export function defaultImageName(source: string): string {
  const path = source.split(/[?#]/)[0] ?? source;
  const last = path.includes("/") ? (path.split("/").filter(Boolean).at(-1) ?? path) : path;
  return last.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "").slice(0, 48) || "image";
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function progressLine(context: CommandContext): ((p: ImageProgress) => void) | undefined {
  if (booleanFlag(context.args.flags, "quiet") || booleanFlag(context.args.flags, "json")) return undefined;
  const tty = context.stderr.isTTY === true;
  return (p) => {
    const line = `${p.image}: ${mib(p.bytes)}${p.total ? ` of ${mib(p.total)}` : ""} at ${mib(p.bytesPerSecond)}/s`;
    context.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
}

function describe(image: CachedImage): string {
  return `${image.name}\t${image.source}\t${mib(image.size)}\tsha256:${image.sha256.slice(0, 16)}…\t${image.path}`;
}

async function run(context: CommandContext): Promise<ExitCode> {
  const [sub, ...rest] = context.args.positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(`'images' needs a subcommand: ${SUBCOMMANDS.join(", ")} (e.g. testenv-vm images pull debian:12)`);
  }
  const json = booleanFlag(context.args.flags, "json");
  const write = (value: unknown, text: string): void => {
    context.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text);
  };
  try {
    const { cache, cacheDir } = await openCache(context);
    if (sub === "list") {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' for 'images list'`);
      const images = await cache.list();
      write({ cacheDir, images }, images.length === 0 ? `No cached images in ${cacheDir}\n` : `${images.map(describe).join("\n")}\n`);
      return EXIT.ok;
    }
    if (sub === "prune") {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' for 'images prune'`);
      const daysText = stringFlag(context.args.flags, "days");
      const days = daysText === undefined ? undefined : Number(daysText);
      if (days !== undefined && (!Number.isFinite(days) || days < 0)) throw new UsageError(`--days needs a non-negative number of days, got '${daysText}'`);
      const { removed } = await cache.prune({ all: booleanFlag(context.args.flags, "all"), ...(days !== undefined ? { unusedForDays: days } : {}) });
      write({ cacheDir, removed }, removed.length === 0 ? "Nothing to prune\n" : `Removed ${removed.length} image(s):\n${removed.map(describe).join("\n")}\n`);
      return EXIT.ok;
    }
    // pull: one source given on the command line, or every image of the spec.
    let images: ImageResource[];
    if (rest.length > 1) throw new UsageError(`'images pull' takes at most one source, got ${rest.length}`);
    if (rest[0] !== undefined) {
      const sha256 = stringFlag(context.args.flags, "sha256");
      images = [{ name: stringFlag(context.args.flags, "name") ?? defaultImageName(rest[0]), spec: { source: rest[0], ...(sha256 ? { sha256 } : {}) } }];
    } else {
      images = (await specOf(context)).images;
      if (images.length === 0) throw new TestenvError("SPEC_INVALID", "the spec has no images to pull; name a source (testenv-vm images pull debian:12) or add images: to the spec");
    }
    const onProgress = progressLine(context);
    const pulled: CachedImage[] = [];
    for (const image of images) {
      pulled.push(await cache.ensure(image, { rootDir: context.cwd, fullVerify: booleanFlag(context.args.flags, "full-verify"), ...(onProgress ? { onProgress } : {}) }));
      if (onProgress && context.stderr.isTTY === true) context.stderr.write("\n");
    }
    write({ cacheDir, images: pulled }, `${pulled.map(describe).join("\n")}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return reportFailure(context, `images ${sub}`, error);
  }
}

registerCommand("images", {
  summary: "list, pull or prune the verified image cache",
  usage: "testenv-vm images list | pull [<source>] [--sha256 hex] [--name n] [--spec forge.yaml] [--full-verify] | prune [--all] [--days n]  [--cache-dir dir] [--json]",
  flags: ["spec", "name", "sha256", "cache-dir", "full-verify", "all", "days", "json", "quiet", "verbose", "help"],
  run,
});
