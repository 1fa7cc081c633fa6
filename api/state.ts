import { z } from "zod";
import { TestEnvArtifact } from "./forge.js";
import { Placement } from "./host-pool.js";
import { ProviderConfig, Spec } from "./spec.js";

export const EnvironmentStatus = z.enum(["pending", "creating", "ready", "failed", "destroying", "destroyed"]);
export type EnvironmentStatus = z.infer<typeof EnvironmentStatus>;

export const ResourceKindSchema = z.enum(["key", "network", "vm"]);

/** DAG nodes include images, which the orchestrator prepares itself (no provider, no ResourceRecord). */
export const NodeKindSchema = z.enum(["image", "key", "network", "vm"]);
export type NodeKind = z.infer<typeof NodeKindSchema>;

export const ResourceRef = z.object({
  kind: NodeKindSchema,
  name: z.string(),
  provider: z.string().optional(),
});
export type ResourceRef = z.infer<typeof ResourceRef>;

export const ResourceRecord = z.object({
  kind: ResourceKindSchema,
  /** Logical name in the spec. */
  name: z.string(),
  /** Name the provider knows it by: <prefix>-<name>. */
  providerName: z.string(),
  provider: z.string(),
  engine: z.string(),
  status: EnvironmentStatus,
  /** State returned by the provider. */
  state: z.record(z.string(), z.unknown()).optional(),
  /** The request sent to the provider (rendered), so a runtime VM can be recreated or inspected. */
  request: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  errorCode: z.string().optional(),
  /** Created at runtime through the client library, not from the spec. */
  runtime: z.boolean().optional(),
  /** An existing network the environment uses (spec `external`): looked up, never created or deleted. */
  external: z.boolean().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string(),
});
export type ResourceRecord = z.infer<typeof ResourceRecord>;

export const ErrorRecord = z.object({
  resource: ResourceRef.optional(),
  operation: z.enum(["create", "rollback", "delete", "validate"]),
  code: z.string().optional(),
  error: z.string(),
  timestamp: z.string(),
});
export type ErrorRecord = z.infer<typeof ErrorRecord>;

export const ExecutionPlan = z.object({
  phases: z.array(z.object({ resources: z.array(ResourceRef) })),
});
export type ExecutionPlan = z.infer<typeof ExecutionPlan>;

export const STATE_VERSION = 1;

/** How the engine picked the provider of a spec that named none (src/orchestrator/provider-choice.ts). */
export const ProviderChoice = z.object({
  provider: z.string(),
  engine: z.string(),
  /** One sentence: the order tried, what the spec needs, and why earlier candidates were passed over. */
  reason: z.string(),
  /** What the spec asks of a provider: vm, network:nat, key:ed25519, uefi, ... */
  needs: z.array(z.string()),
  /** The candidates tried before the pick, each with why it does not fit. */
  rejected: z.array(z.object({ name: z.string(), why: z.string() })),
});
export type ProviderChoice = z.infer<typeof ProviderChoice>;

export const EnvironmentState = z.object({
  version: z.literal(STATE_VERSION),
  id: z.string(),
  stage: z.string(),
  status: EnvironmentStatus,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** SHA-256 of the canonical JSON of the parsed spec: idempotent create compares it. */
  specHash: z.string(),
  spec: Spec,
  /** Providers to start for delete, without re-reading the spec. */
  providers: z.array(ProviderConfig),
  /** Set when the spec named no provider: which one the engine picked and why (`spec` then lists it). */
  providerChoice: ProviderChoice.optional(),
  /** Set when a provider names a pool of hosts: the host each such provider's resources were placed on, and why. */
  placements: z.array(Placement).optional(),
  prefix: z.string(),
  subnetOctet: z.number().int(),
  /** Subnet isolation: original "a.b.c" → reserved "a.b.o" (see src/orchestrator/isolation.ts). */
  subnets: z.record(z.string(), z.string()).optional(),
  /** The host-wide subnet registry the reservations are in; states written before it use {stateDir}/state/subnets. */
  subnetRegistry: z.string().optional(),
  stateDir: z.string(),
  artifactDir: z.string(),
  tmpDir: z.string(),
  /** Where relative engine and image paths resolve; delete starts providers from here. */
  rootDir: z.string(),
  /** Images resolved during create (by name; aliases point to the same entry). */
  images: z.record(z.string(), z.object({ name: z.string(), path: z.string(), alias: z.string().optional() })).optional(),
  resources: z.object({
    keys: z.record(z.string(), ResourceRecord),
    networks: z.record(z.string(), ResourceRecord),
    vms: z.record(z.string(), ResourceRecord),
  }),
  executionPlan: ExecutionPlan,
  errors: z.array(ErrorRecord),
  artifact: TestEnvArtifact.optional(),
  /** CreateInput.env, kept so runtime VMs render .Env like the spec did. */
  env: z.record(z.string(), z.string()).optional(),
});
export type EnvironmentState = z.infer<typeof EnvironmentState>;
