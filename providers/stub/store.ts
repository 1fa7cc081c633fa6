import { mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { KeyState, NetworkState, VMState } from "../../api/provider.js";
import type { SnapshotInfo } from "../../api/snapshot.js";
import { writeFileAtomic } from "../../lib/durable-file.js";
import { withFileLock } from "../../lib/file-lock.js";
import { fileProblem } from "../../lib/path-kind.js";
import { ProviderError } from "../kit/index.js";

/** A VM's record as it was at vm_snapshot_save (the stub's whole "memory and disk"). */
export interface StubSnapshot {
  info: SnapshotInfo;
  vm: VMState;
}

export interface StubData {
  keys: Record<string, KeyState>;
  networks: Record<string, NetworkState>;
  vms: Record<string, VMState>;
  /** By `<vm>/<snapshot>`. */
  snapshots: Record<string, StubSnapshot>;
  /** `<kind>/<name>` → the environment that made it (for gc); absent when nothing is recorded. */
  owners?: Record<string, StubOwner>;
}

/** The environment a resource was made for (providers/stub/ownership.ts). */
export interface StubOwner {
  testID?: string;
  prefix?: string;
  stateDir?: string;
  createdAt: string;
}

export const emptyData = (): StubData => ({ keys: {}, networks: {}, vms: {}, snapshots: {} });

/** Every read and write of stub state goes through one transaction, so concurrent processes see each other. */
export interface StubStore {
  transact<T>(work: (data: StubData) => T): Promise<T>;
}

export class MemoryStore implements StubStore {
  private readonly data = emptyData();

  // work is synchronous, so nothing else runs in between: no lock needed within one process.
  // eslint-disable-next-line @typescript-eslint/require-await
  async transact<T>(work: (data: StubData) => T): Promise<T> {
    return work(this.data);
  }
}

/** State in a JSON file, under the cross-process lock and replaced atomically (fsynced) on every change. */
export class FileStore implements StubStore {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
    // A store that cannot be a file fails the provider's start, before any resource is asked for.
    const problem = fileProblem(path);
    if (problem !== undefined) throw new ProviderError("INVALID_SPEC", `stub store ${path} cannot be used: ${problem}; set spec.store to the path of a JSON file`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, `${JSON.stringify(emptyData())}\n`, { flag: "wx", mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }

  async transact<T>(work: (data: StubData) => T): Promise<T> {
    const busy = () => new ProviderError("RESOURCE_BUSY", `stub store ${this.path} stayed locked by another process for 30 s`);
    return withFileLock(this.path, { waitMs: 30_000, busy }, async () => {
      const before = await readFile(this.path, "utf8");
      const data = { ...emptyData(), ...(JSON.parse(before) as Partial<StubData>) };
      const result = work(data);
      const after = `${JSON.stringify(data, null, 2)}\n`;
      if (after !== before) await writeFileAtomic(this.path, after, { mode: 0o600 });
      return result;
    });
  }
}
