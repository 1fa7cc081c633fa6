import type { OwnedKind, OwnedObject, ReclaimRequest } from "../../api/provider.js";
import { ProviderError, notFound, type ProviderContext } from "../kit/index.js";
import type { StubData, StubOwner } from "./store.js";

// Who made each stub resource: the environment (testID, prefix, state dir) of the process that created it, kept
// next to the resources in the store so `gc` can tell, from a fresh process, which ones belong to a gone one.

type ResourceKind = Exclude<OwnedKind, "file">;
const COLLECTIONS = { vm: "vms", network: "networks", key: "keys" } as const satisfies Record<ResourceKind, keyof StubData>;
const DETAIL: Record<ResourceKind, string> = { vm: "stub vm", network: "stub network", key: "stub key" };

const ownerKey = (kind: ResourceKind, name: string): string => `${kind}/${name}`;

export function recordOwner(data: StubData, kind: ResourceKind, name: string, context: Partial<Pick<ProviderContext, "testID" | "prefix" | "stateDir">>): void {
  const owner: StubOwner = {
    ...(context.testID !== undefined ? { testID: context.testID } : {}),
    ...(context.prefix !== undefined ? { prefix: context.prefix } : {}),
    ...(context.stateDir !== undefined ? { stateDir: context.stateDir } : {}),
    createdAt: new Date().toISOString(),
  };
  data.owners = { ...data.owners, [ownerKey(kind, name)]: owner };
}

export function forgetOwner(data: StubData, kind: ResourceKind, name: string): void {
  if (data.owners === undefined) return;
  delete data.owners[ownerKey(kind, name)];
  // The store file of a host with nothing left looks as it did before any resource was made.
  if (Object.keys(data.owners).length === 0) delete data.owners;
}

/** Every resource in the store with its recorded owner; one made before owners were recorded has none. */
export function ownedObjects(data: StubData): OwnedObject[] {
  const objects: OwnedObject[] = [];
  for (const kind of Object.keys(COLLECTIONS) as ResourceKind[]) {
    for (const [name, state] of Object.entries(data[COLLECTIONS[kind]])) {
      const owner = data.owners?.[ownerKey(kind, name)];
      const createdAt = owner?.createdAt ?? (state as { createdAt?: string }).createdAt;
      objects.push({
        kind,
        name,
        detail: DETAIL[kind],
        ...(owner?.testID !== undefined ? { testID: owner.testID } : {}),
        ...(owner?.prefix !== undefined ? { prefix: owner.prefix } : {}),
        ...(owner?.stateDir !== undefined ? { stateDir: owner.stateDir } : {}),
        ...(createdAt !== undefined ? { createdAt } : {}),
      });
    }
  }
  return objects.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/** Removes one resource gc asked for, as its delete would (key files included); the stub has no loose files. */
export function reclaimKind(request: ReclaimRequest): ResourceKind {
  if (request.kind === "file") throw new ProviderError("INVALID_SPEC", `kind: the stub makes no loose files; "${request.name}" is not one of its objects`);
  return request.kind;
}

export function requireStored(data: StubData, kind: ResourceKind, name: string): void {
  if (!(name in data[COLLECTIONS[kind]])) throw notFound(kind, name);
}
