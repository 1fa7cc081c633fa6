import type { OwnedObject, ReclaimRequest } from "../../api/provider.js";
import {
  ProviderError,
  keyFilesLookOurs,
  notFound,
  removeKeyPair,
  type KeyRecord,
  type OwnershipHandlers,
  type RecordStore,
  type ResourceHandlers,
} from "../kit/index.js";
import type { PodmanCli } from "./cli.js";
import { LABEL, MANAGED_BY } from "./labels.js";

// gc on podman: every container and network carrying our managed-by and resource labels is ours, of whichever
// environment its labels name; a foreign object (without them, whatever its name) is neither listed nor removed.
// managed-by alone is not enough: a container someone else makes from our base image inherits the image's labels.
// Key pairs are the key records under the provider's root, shared by every environment: each names the testID,
// prefix and state dir it was made for, and only a record whose files sit where we would have put them is listed.

interface LabelledContainer {
  Names?: string[];
  Labels?: Record<string, string> | null;
  /** Unix seconds. */
  Created?: number;
}

interface LabelledNetwork {
  name: string;
  created?: string;
  labels?: Record<string, string> | null;
}

const MANAGED = ["--filter", `label=${LABEL.managedBy}=${MANAGED_BY}`, "--filter", `label=${LABEL.resource}`];

type Owner = Pick<OwnedObject, "testID" | "prefix" | "stateDir">;

function ownerFields(testID: string | undefined, prefix: string | undefined, stateDir: string | undefined): Owner {
  return { ...(testID ? { testID } : {}), ...(prefix ? { prefix } : {}), ...(stateDir ? { stateDir } : {}) };
}

function ownerOf(labels: Record<string, string> | null | undefined): Owner {
  return ownerFields(labels?.[LABEL.testID], labels?.[LABEL.prefix], labels?.[LABEL.stateDir]);
}

export interface OwnershipDeps {
  podman: PodmanCli;
  vms: Pick<ResourceHandlers<never, unknown>, "delete">;
  networks: Pick<ResourceHandlers<never, unknown>, "delete">;
  /** The key records (under the provider's root). */
  records: RecordStore;
}

export function podmanOwnership(deps: OwnershipDeps): Required<OwnershipHandlers> {
  const { podman } = deps;
  const containers = (): Promise<LabelledContainer[]> => podman.json<LabelledContainer[]>(["ps", "--all", ...MANAGED, "--format", "json"]);
  const networks = (): Promise<LabelledNetwork[]> => podman.json<LabelledNetwork[]>(["network", "ls", ...MANAGED, "--format", "json"]);
  const keys = async (): Promise<Map<string, KeyRecord>> => {
    const found = new Map<string, KeyRecord>();
    for (const name of await deps.records.names("keys")) {
      const record = await deps.records.read<KeyRecord>("keys", name);
      if (record !== undefined && record.name === name && keyFilesLookOurs(record)) found.set(name, record);
    }
    return found;
  };
  return {
    owned: async () => {
      const objects: OwnedObject[] = [];
      for (const c of await containers()) {
        const name = c.Names?.[0];
        if (name === undefined) continue;
        const createdAt = typeof c.Created === "number" ? new Date(c.Created * 1000).toISOString() : undefined;
        objects.push({ kind: "vm", name, detail: "podman container", ...ownerOf(c.Labels), ...(createdAt ? { createdAt } : {}) });
      }
      for (const n of await networks()) objects.push({ kind: "network", name: n.name, detail: "podman network", ...ownerOf(n.labels), ...(n.created ? { createdAt: n.created } : {}) });
      for (const [, record] of await keys()) objects.push(keyObject(record));
      return objects;
    },
    reclaim: async (request: ReclaimRequest) => {
      if (request.kind === "vm") {
        if (!(await containers()).some((c) => c.Names?.includes(request.name))) throw notOurs(request);
        await deps.vms.delete(request.name, true);
      } else if (request.kind === "network") {
        if (!(await networks()).some((n) => n.name === request.name)) throw notOurs(request);
        await deps.networks.delete(request.name, false);
      } else if (request.kind === "key") {
        const record = (await keys()).get(request.name);
        if (record === undefined) throw notFound("key", request.name);
        await removeKeyPair(deps.records, request.name, record);
      } else {
        throw new ProviderError("INVALID_SPEC", `kind: the podman provider reclaims containers, networks and keys, not ${request.kind}s`);
      }
    },
  };
}

function keyObject(record: KeyRecord): OwnedObject {
  const owner = ownerFields(record.testID, record.prefix, record.stateDir);
  return { kind: "key", name: record.name, detail: `key pair ${record.privateKeyPath} (+ .pub)`, ...owner, createdAt: record.createdAt };
}

/** Absent or foreign are the same answer: there is no object of ours by that name. */
function notOurs(request: ReclaimRequest): ProviderError {
  return notFound(request.kind === "vm" ? "vm" : "network", request.name);
}
