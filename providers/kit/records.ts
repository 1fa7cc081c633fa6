import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { removeFileDurably, writeJsonAtomic } from "../../lib/durable-file.js";
import { checkResourceName } from "./names.js";

// Small JSON records in dataDir for what the backend (libvirt, podman) and the host cannot tell us (a key's
// files, a network's kind and spec, a dnsmasq process's identity). They only ever supplement what is really there:
// get/list check the real object before answering from a record.

export type RecordKind = "keys" | "networks" | "vms";

export class RecordStore {
  constructor(readonly dataDir: string) {}

  dir(kind: RecordKind): string {
    return join(this.dataDir, "records", kind);
  }

  path(kind: RecordKind, name: string): string {
    return join(this.dir(kind), `${checkResourceName(kind, name)}.json`);
  }

  async read<T>(kind: RecordKind, name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(this.path(kind, name), "utf8")) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (error instanceof SyntaxError) return undefined; // a torn record from a crash counts as absent
      throw error;
    }
  }

  async write(kind: RecordKind, name: string, value: unknown): Promise<void> {
    await writeJsonAtomic(this.path(kind, name), value, { mode: 0o644, makeDirs: 0o755 });
  }

  async remove(kind: RecordKind, name: string): Promise<void> {
    await removeFileDurably(this.path(kind, name));
  }

  async names(kind: RecordKind): Promise<string[]> {
    try {
      const entries = await readdir(this.dir(kind));
      return entries.filter((e) => e.endsWith(".json")).map((e) => e.slice(0, -".json".length)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }
}
