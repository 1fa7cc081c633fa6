import { z } from "zod";
import {
  KeyCreateRequest,
  NetworkCreateRequest,
  PlanRequest,
  ReclaimRequest,
  VMCreateRequest,
  type AvailabilityResponse,
  type HealthResponse,
  type KeyCreateRequest as KeyCreate,
  type NetworkCreateRequest as NetworkCreate,
  type OptionalProviderToolName,
  type OwnedObject,
  type PlannableTool,
  type PlannedStep,
  type VMCreateRequest as VMCreate,
} from "../../api/provider.js";
import { ProviderError } from "./errors.js";

// The optional tools (provider_available, provider_health, provider_plan): what a provider implements of them,
// and how the kit serves them. A provider that leaves one out answers NOT_IMPLEMENTED, except availability: a
// process that answers over MCP is available as far as it can tell.

export type PlannableRequest =
  | { tool: "key_create"; request: KeyCreate }
  | { tool: "network_create"; request: NetworkCreate }
  | { tool: "vm_create"; request: VMCreate };

export interface DiscoveryHandlers {
  /** Fast and without a connection: binaries, device nodes, config. */
  available?(): Promise<AvailabilityResponse> | AvailabilityResponse;
  /** Slower: versions, daemon reachable, accelerator, tools, free disk, running resources, warnings with fixes. */
  health?(): Promise<HealthResponse>;
  /** The steps the create would take; it must touch nothing: no files, processes, sockets or daemon objects. */
  plan?(planned: PlannableRequest): Promise<PlannedStep[]>;
}

/**
 * gc's two tools. owned: every object this provider made, of every environment (not only the one the process
 * serves), each with the owner recorded on it; it changes nothing. reclaim: removes one of them, after checking
 * again that it is ours (a foreign object is refused, never removed); NOT_FOUND when it is already gone.
 */
export interface OwnershipHandlers {
  owned?(): Promise<OwnedObject[]>;
  reclaim?(object: ReclaimRequest): Promise<void>;
}

const CREATE_REQUESTS: Record<PlannableTool, z.ZodType> = {
  key_create: KeyCreateRequest,
  network_create: NetworkCreateRequest,
  vm_create: VMCreateRequest,
};

export interface OptionalToolDefinition {
  description: string;
  input: z.ZodType;
  /** false for a tool that changes something: refused in inspect mode. */
  readOnly: boolean;
  run(impl: DiscoveryHandlers & OwnershipHandlers, args: unknown): Promise<unknown>;
}

const notImplemented = (tool: string): ProviderError => new ProviderError("NOT_IMPLEMENTED", `${tool} is not implemented by this provider`);

async function planStep(impl: DiscoveryHandlers, args: PlanRequest): Promise<{ steps: PlannedStep[] }> {
  if (impl.plan === undefined) throw notImplemented("provider_plan");
  const parsed = CREATE_REQUESTS[args.tool].safeParse(args.arguments);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`).join("; ");
    throw new ProviderError("INVALID_SPEC", `provider_plan ${args.tool}: ${fields}`);
  }
  return { steps: await impl.plan({ tool: args.tool, request: parsed.data } as PlannableRequest) };
}

export const OPTIONAL_TOOL_DEFINITIONS: Record<OptionalProviderToolName, OptionalToolDefinition> = {
  provider_available: {
    description: "Fast check, without opening a connection, whether this provider can work on this host.",
    input: z.strictObject({}),
    readOnly: true,
    run: async (impl) => (impl.available ? await impl.available() : { available: true, reason: "the provider answers; it has no check of its own" }),
  },
  provider_health: {
    description: "Versions, daemon reachability, accelerator, tools, free disk, running resources and warnings with a fix each.",
    input: z.strictObject({}),
    readOnly: true,
    run: (impl) => (impl.health ? impl.health() : Promise.reject(notImplemented("provider_health"))),
  },
  provider_plan: {
    description: "What key_create, network_create or vm_create with these arguments would do, without doing any of it.",
    input: PlanRequest,
    readOnly: true,
    run: (impl, args) => planStep(impl, args as PlanRequest),
  },
  provider_owned: {
    description: "Every object this provider made, of every environment, with the owner (testID, state dir) recorded on it. Changes nothing.",
    input: z.strictObject({}),
    readOnly: true,
    run: async (impl) => {
      if (impl.owned === undefined) throw notImplemented("provider_owned");
      return { objects: await impl.owned() };
    },
  },
  provider_reclaim: {
    description: "Remove one object provider_owned listed (gc). Refused for an object this provider did not make; NOT_FOUND when it is gone.",
    input: ReclaimRequest,
    readOnly: false,
    run: async (impl, args) => {
      if (impl.reclaim === undefined) throw notImplemented("provider_reclaim");
      await impl.reclaim(args as ReclaimRequest);
      return undefined;
    },
  },
};
