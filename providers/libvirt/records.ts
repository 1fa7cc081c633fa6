import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { checkResourceName } from "./names.js";

// Small JSON records in dataDir for what libvirt and the host cannot tell us (a key's files, a network's
// kind and spec, a dnsmasq process's identity). They only ever supplement what is really there:
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
    await mkdir(this.dir(kind), { recursive: true, mode: 0o755 });
    const target = this.path(kind, name);
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o644 });
    await rename(temp, target);
  }

  async remove(kind: RecordKind, name: string): Promise<void> {
    await rm(this.path(kind, name), { force: true });
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
