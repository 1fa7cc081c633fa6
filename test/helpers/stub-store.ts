import { existsSync, readFileSync } from "node:fs";

/** What the stub provider's file store holds: provider-level names per kind. */
export interface StubStoreContents {
  keys: Record<string, Record<string, unknown>>;
  networks: Record<string, Record<string, unknown>>;
  vms: Record<string, Record<string, unknown>>;
  /** Snapshots by `<vm>/<snapshot>` (the stub's vm_snapshot_* tools). */
  snapshots: Record<string, Record<string, unknown>>;
}

/** Reads a stub file store (provider config `store`); undefined when no stub ever started with it. */
export function readStubStore(path: string): StubStoreContents | undefined {
  if (!existsSync(path)) return undefined;
  const data = JSON.parse(readFileSync(path, "utf8")) as Partial<StubStoreContents>;
  return { keys: data.keys ?? {}, networks: data.networks ?? {}, vms: data.vms ?? {}, snapshots: data.snapshots ?? {} };
}

/** Provider-level names of everything in the store, as `kind/name`, sorted. */
export function storedResources(path: string): string[] {
  const data = readStubStore(path);
  if (!data) return [];
  return [
    ...Object.keys(data.keys).map((n) => `key/${n}`),
    ...Object.keys(data.networks).map((n) => `network/${n}`),
    ...Object.keys(data.vms).map((n) => `vm/${n}`),
    ...Object.keys(data.snapshots).map((n) => `snapshot/${n}`),
  ].sort();
}
