import { z } from "zod";
import { PlannedPlacement } from "./host-pool.js";
import { PlannedStep } from "./provider.js";
import { ProviderChoice } from "./state.js";

// A dry-run plan: what a create would do, resource by resource, with hashes that make it reproducible and that
// `create --plan` checks before it applies the plan. Same spec, same host: the same bytes.

export const PLAN_VERSION = 1;

/** `sha256:<64 hex>`. */
export const Sha256 = z.string().regex(/^sha256:[0-9a-f]{64}$/, "sha256:<64 hex digits>");

/** create: it would be made; unchanged: it exists as planned; replace: it exists and differs; use: external, looked up only. */
export const PlanAction = z.enum(["create", "unchanged", "replace", "use"]);
export type PlanAction = z.infer<typeof PlanAction>;

export const PlannedResource = z.object({
  kind: z.enum(["image", "key", "network", "vm"]),
  name: z.string(),
  action: PlanAction,
  /** The spec's provider name (none for images). */
  provider: z.string().optional(),
  /** The name the provider knows it by. */
  providerName: z.string().optional(),
  /** Fields of the request that differ from what exists (replace). */
  changes: z.array(z.string()).optional(),
  /** The rendered request; values only known after create are `(known after create: <kind>.<name>.<field>)`. */
  request: z.record(z.string(), z.unknown()).optional(),
  requestHash: Sha256.optional(),
  /** What the provider says it would do; absent when it cannot say (a provider without provider_plan). */
  steps: z.array(PlannedStep).optional(),
  /** Why there are no steps. */
  stepsUnknown: z.string().optional(),
});
export type PlannedResource = z.infer<typeof PlannedResource>;

export const Plan = z.object({
  version: z.literal(PLAN_VERSION),
  testID: z.string(),
  stage: z.string(),
  prefix: z.string(),
  specHash: Sha256,
  /** Third octets the environment would take: "a.b.c" as written → "a.b.c" used. */
  subnets: z.record(z.string(), z.string()),
  providers: z.array(z.object({ name: z.string(), engine: z.string(), providerName: z.string(), version: z.string() })),
  /** Set when the spec named no provider: which one the engine picked and why. */
  providerChoice: ProviderChoice.optional(),
  /** Set when a provider names a pool of hosts: the host a create would place its resources on now, and why. */
  placements: z.array(PlannedPlacement).optional(),
  /** Local files the plan depends on (base images given as paths), by a fingerprint of their size and mtime. */
  inputs: z.record(z.string(), z.string()),
  phases: z.array(z.object({ phase: z.number().int().positive(), resources: z.array(PlannedResource) })),
  /** Over the canonical bytes of everything above. */
  planHash: Sha256,
});
export type Plan = z.infer<typeof Plan>;
