import { readdir, readFile, rm, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { makeDirs, writeJsonAtomic } from "../../lib/durable-file.js";
import type { ResourceHandlers, VMHandlers } from "../kit/index.js";
import { defaultDataDir, type ResolvedConfig } from "./config.js";

// The per-environment data dir (<data root>/<prefix>): it names its owner in owner.json, so that gc finds it and
// its environment even when the provider that made it was killed; and it goes as soon as it holds nothing but
// empty folders, after each delete rather than only at a clean shutdown (a killed provider never shuts down).

export const OWNER_FILE = "owner.json";

/** Who a data dir (or an object recorded in one) belongs to, as the provider process that made it knew. */
export interface RecordedOwner {
  testID?: string;
  prefix?: string;
  stateDir?: string;
}

export interface DataDirOwner extends RecordedOwner {
  createdAt: string;
}

/** Where every environment's default data dir lives (the parent of <prefix>). */
export function dataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return dirname(defaultDataDir(undefined, env));
}

export function ownerOf(config: Pick<ResolvedConfig, "testID" | "prefix" | "stateDir">): RecordedOwner {
  return {
    ...(config.testID !== undefined ? { testID: config.testID } : {}),
    ...(config.prefix !== undefined ? { prefix: config.prefix } : {}),
    ...(config.stateDir !== undefined ? { stateDir: config.stateDir } : {}),
  };
}

export async function readDataDirOwner(dir: string): Promise<DataDirOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, OWNER_FILE), "utf8")) as Partial<DataDirOwner>;
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
    const testID = text(parsed.testID);
    const prefix = text(parsed.prefix);
    const stateDir = text(parsed.stateDir);
    return { ...(testID ? { testID } : {}), ...(prefix ? { prefix } : {}), ...(stateDir ? { stateDir } : {}), createdAt: text(parsed.createdAt) ?? "" };
  } catch {
    return undefined;
  }
}

/** True when `dir` holds a file anywhere below it; the owner record at its top does not count. */
async function holdsFile(dir: string, top = true): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (top && entry.name === OWNER_FILE && entry.isFile()) continue;
    if (!entry.isDirectory() || (await holdsFile(join(dir, entry.name), false))) return true;
  }
  return false;
}

/**
 * Removes what is left of a data dir that holds no file (only empty folders and its owner record). Anything holding
 * a file (another provider process still at work) is left alone. The dir itself goes only when it is the
 * per-environment default, never a dataDir the user configured.
 */
export async function removeIfNoFiles(dir: string, removeRoot: boolean): Promise<void> {
  if (await holdsFile(dir)) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(entries.map((entry) => rm(join(dir, entry.name), { recursive: true, force: true })));
  if (removeRoot) await rmdir(dir).catch(() => undefined);
}

/**
 * The data dir of one provider process: made (with its owner) before each create, tidied after each delete. A
 * create in flight keeps it: the tidy-up of a delete running alongside must not take the dir from under it.
 */
export class DataDir {
  private creating = 0;

  constructor(private readonly config: Pick<ResolvedConfig, "dataDir" | "dataDirIsDefault" | "testID" | "prefix" | "stateDir">) {}

  /** mkdir (0755: libvirt-qemu walks into it) and, for a per-environment dir, its owner record. */
  async ensure(): Promise<void> {
    await makeDirs(this.config.dataDir, 0o755);
    if (!this.config.dataDirIsDefault || this.config.testID === undefined) return;
    if ((await readDataDirOwner(this.config.dataDir))?.testID === this.config.testID) return;
    const owner: DataDirOwner = { ...ownerOf(this.config), createdAt: new Date().toISOString() };
    await writeJsonAtomic(join(this.config.dataDir, OWNER_FILE), owner, { mode: 0o644 });
  }

  async tidy(): Promise<void> {
    if (this.creating === 0) await removeIfNoFiles(this.config.dataDir, this.config.dataDirIsDefault);
  }

  private async creatingWhile<T>(work: () => Promise<T>): Promise<T> {
    this.creating += 1;
    try {
      await this.ensure();
      return await work();
    } finally {
      this.creating -= 1;
    }
  }

  private async thenTidy(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } finally {
      await this.tidy().catch(() => undefined);
    }
  }

  /** The handlers with the upkeep around create and delete. */
  resources<Request, State>(handlers: ResourceHandlers<Request, State>): ResourceHandlers<Request, State> {
    return {
      ...handlers,
      create: (request) => this.creatingWhile(() => handlers.create(request)),
      delete: (name, force) => this.thenTidy(() => handlers.delete(name, force)),
    };
  }

  vms(handlers: VMHandlers): VMHandlers {
    return { ...handlers, ...this.resources(handlers) };
  }
}
