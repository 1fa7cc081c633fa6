import type { OwnedObject, ReclaimRequest } from "../../api/provider.js";
import { ProviderError, notFound, type OwnershipHandlers, type ResourceHandlers } from "../kit/index.js";
import type { PodmanCli } from "./cli.js";
import { LABEL, MANAGED_BY } from "./labels.js";

// gc on podman: every container and network carrying our managed-by and resource labels is ours, of whichever
// environment its labels name; a foreign object (without them, whatever its name) is neither listed nor removed.
// managed-by alone is not enough: a container someone else makes from our base image inherits the image's labels.

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

function ownerOf(labels: Record<string, string> | null | undefined): Pick<OwnedObject, "testID" | "prefix" | "stateDir"> {
  const testID = labels?.[LABEL.testID];
  const prefix = labels?.[LABEL.prefix];
  const stateDir = labels?.[LABEL.stateDir];
  return { ...(testID ? { testID } : {}), ...(prefix ? { prefix } : {}), ...(stateDir ? { stateDir } : {}) };
}

export interface OwnershipDeps {
  podman: PodmanCli;
  vms: Pick<ResourceHandlers<never, unknown>, "delete">;
  networks: Pick<ResourceHandlers<never, unknown>, "delete">;
}

export function podmanOwnership(deps: OwnershipDeps): Required<OwnershipHandlers> {
  const { podman } = deps;
  const containers = (): Promise<LabelledContainer[]> => podman.json<LabelledContainer[]>(["ps", "--all", ...MANAGED, "--format", "json"]);
  const networks = (): Promise<LabelledNetwork[]> => podman.json<LabelledNetwork[]>(["network", "ls", ...MANAGED, "--format", "json"]);
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
      return objects;
    },
    reclaim: async (request: ReclaimRequest) => {
      if (request.kind === "vm") {
        if (!(await containers()).some((c) => c.Names?.includes(request.name))) throw notOurs(request);
        await deps.vms.delete(request.name, true);
      } else if (request.kind === "network") {
        if (!(await networks()).some((n) => n.name === request.name)) throw notOurs(request);
        await deps.networks.delete(request.name, false);
      } else {
        throw new ProviderError("INVALID_SPEC", `kind: the podman provider reclaims containers and networks, not ${request.kind}s`);
      }
    },
  };
}

/** Absent or foreign are the same answer: there is no object of ours by that name. */
function notOurs(request: ReclaimRequest): ProviderError {
  return notFound(request.kind === "vm" ? "vm" : "network", request.name);
}
