import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { KeyState, NetworkState, VMState } from "../../api/provider.js";

export interface StubData {
  keys: Record<string, KeyState>;
  networks: Record<string, NetworkState>;
  vms: Record<string, VMState>;
}

export const emptyData = (): StubData => ({ keys: {}, networks: {}, vms: {} });

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

/** State in a JSON file, locked with proper-lockfile and replaced atomically on every change. */
export class FileStore implements StubStore {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, `${JSON.stringify(emptyData())}\n`, { flag: "wx", mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }

  async transact<T>(work: (data: StubData) => T): Promise<T> {
    // Loaded on first use: proper-lockfile (graceful-fs) costs ~0.2 s of start-up that the in-memory stub never needs.
    const lockfile = await import("proper-lockfile");
    const release = await lockfile.lock(this.path, {
      realpath: false,
      stale: 10_000,
      retries: { retries: 200, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
    });
    try {
      const before = readFileSync(this.path, "utf8");
      const data = { ...emptyData(), ...(JSON.parse(before) as Partial<StubData>) };
      const result = work(data);
      const after = `${JSON.stringify(data, null, 2)}\n`;
      if (after !== before) {
        const temporary = `${this.path}.${process.pid}.tmp`;
        writeFileSync(temporary, after, { mode: 0o600 });
        renameSync(temporary, this.path);
      }
      return result;
    } finally {
      await release();
    }
  }
}
