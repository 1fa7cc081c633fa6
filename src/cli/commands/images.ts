import { resolve } from "node:path";
import type { ImageResource } from "../../../api/spec.js";
import { TestenvError } from "../../errors.js";
import type { CachedImage, ImageCache, ImageProgress, ImageUserSummary, KeptImage } from "../../image/cache.js";
import { UsageError, booleanFlag, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";

// `testenv-vm images list|pull|prune`: the verified image cache from a terminal.

const SUBCOMMANDS = ["list", "pull", "prune"] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

interface OpenCache {
  cache: ImageCache;
  cacheDir: string;
}

async function openCache(context: CommandContext): Promise<OpenCache> {
  const { ImageCache, resolveImageCacheDir } = await import("../../image/cache.js");
  const explicit = stringFlag(context.args.flags, "cache-dir");
  let specDir: string | undefined;
  if (explicit === undefined && context.specFile.named) specDir = (await context.specFile.read()).spec.imageCacheDir;
  const cacheDir = explicit !== undefined ? resolve(context.cwd, explicit) : resolveImageCacheDir({ ...(specDir ? { specDir } : {}), env: context.env, rootDir: context.cwd });
  return { cache: new ImageCache({ cacheDir }), cacheDir };
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

function isSubcommand(word: string | undefined): word is Subcommand {
  return (SUBCOMMANDS as readonly (string | undefined)[]).includes(word);
}

/** The JSON document with --json, the text otherwise. */
function print(context: CommandContext, value: unknown, text: string): ExitCode {
  if (booleanFlag(context.args.flags, "json")) writeJson(context, value);
  else context.stdout.write(text);
  return EXIT.ok;
}

function noArguments(sub: Subcommand, rest: readonly string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' for 'images ${sub}'`);
}

async function list(context: CommandContext, { cache, cacheDir }: OpenCache): Promise<ExitCode> {
  const images = await cache.list();
  const counts = await cache.userCounts();
  const listed = images.map((image) => ({ ...image, users: counts.get(image.key) ?? 0 }));
  const lines = listed.map((image) => `${describe(image)}\t${image.users === 1 ? "1 VM disk" : `${image.users} VM disks`}`);
  return print(context, { cacheDir, images: listed }, images.length === 0 ? `No cached images in ${cacheDir}\n` : `${lines.join("\n")}\n`);
}

const USE_STATE: Record<ImageUserSummary["state"], string> = {
  "in use": "stopped or running VM",
  "being created": "a VM disk being created",
  unreadable: "a VM disk that could not be read, so counted as a user",
};

/** "kept debian-12: used by /…/disk.qcow2 (libvirt VM x, stopped or running VM)", one line per user. */
function keptLines(image: KeptImage): string[] {
  return image.usedBy.map((user) => {
    const via = user.via === undefined ? "" : ` through ${user.via}`;
    return `kept ${image.name}: used by ${user.overlayPath}${via} (${user.usedBy}, ${USE_STATE[user.state]})`;
  });
}

async function prune(context: CommandContext, { cache, cacheDir }: OpenCache): Promise<ExitCode> {
  const daysText = stringFlag(context.args.flags, "days");
  const days = daysText === undefined ? undefined : Number(daysText);
  if (days !== undefined && (!Number.isFinite(days) || days < 0)) throw new UsageError(`--days needs a non-negative number of days, got '${daysText}'`);
  const { removed, kept } = await cache.prune({ all: booleanFlag(context.args.flags, "all"), ...(days !== undefined ? { unusedForDays: days } : {}) });
  const removedText = removed.length === 0 ? "Nothing to prune\n" : `Removed ${removed.length} image(s):\n${removed.map(describe).join("\n")}\n`;
  const keptText = kept.flatMap(keptLines).map((line) => `${line}\n`).join("");
  return print(context, { cacheDir, removed, kept }, `${removedText}${keptText}`);
}

/** One source given on the command line, or every image of the spec. */
async function pull(context: CommandContext, { cache, cacheDir }: OpenCache, sources: readonly string[]): Promise<ExitCode> {
  let images: ImageResource[];
  if (sources.length > 1) throw new UsageError(`'images pull' takes at most one source, got ${sources.length}`);
  if (sources[0] !== undefined) {
    const sha256 = stringFlag(context.args.flags, "sha256");
    images = [{ name: stringFlag(context.args.flags, "name") ?? defaultImageName(sources[0]), spec: { source: sources[0], ...(sha256 ? { sha256 } : {}) } }];
  } else {
    images = (await context.specFile.read()).spec.images ?? [];
    if (images.length === 0) throw new TestenvError("SPEC_INVALID", "the spec has no images to pull; name a source (testenv-vm images pull debian:12) or add images: to the spec");
  }
  const onProgress = progressLine(context);
  const pulled: CachedImage[] = [];
  for (const image of images) {
    pulled.push(await cache.ensure(image, { rootDir: context.cwd, fullVerify: booleanFlag(context.args.flags, "full-verify"), ...(onProgress ? { onProgress } : {}) }));
    if (onProgress && context.stderr.isTTY === true) context.stderr.write("\n");
  }
  return print(context, { cacheDir, images: pulled }, `${pulled.map(describe).join("\n")}\n`);
}

export const imagesCommand: CommandDefinition = {
  name: "images",
  summary: "list, pull or prune the verified image cache",
  usage: "testenv-vm images list | pull [<source>] [--sha256 hex] [--name n] [--spec forge.yaml] [--full-verify] | prune [--all] [--days n]  [--cache-dir dir] [--json]",
  flags: ["spec", "name", "sha256", "cache-dir", "full-verify", "all", "days", ...COMMON_FLAGS],
  operation: (args) => `images ${args.positionals[0]}`,
  async run(context) {
    const [sub, ...rest] = context.args.positionals;
    if (!isSubcommand(sub)) throw new UsageError(`'images' needs a subcommand: ${SUBCOMMANDS.join(", ")} (e.g. testenv-vm images pull debian:12)`);
    const opened = await openCache(context);
    switch (sub) {
      case "list":
        noArguments(sub, rest);
        return list(context, opened);
      case "prune":
        noArguments(sub, rest);
        return prune(context, opened);
      case "pull":
        return pull(context, opened, rest);
    }
  },
};
