import pLimit from "p-limit";
import type { OperationResult } from "../../api/provider.js";
import type { KeyResource, NetworkResource, ResourceKind, Spec, VMResource } from "../../api/spec.js";
import type { EnvironmentState, ErrorRecord, ResourceRecord, ResourceRef } from "../../api/state.js";
import { errorMessage, formatIssues, isTestenvError } from "../errors.js";
import type { Logger } from "../../lib/log.js";
import type { ProviderManager } from "../provider/manager.js";
import { renderTemplates } from "../spec/template.js";
import { resolveProviderName, validateLate } from "../spec/validate.js";
import { safeEmit, type ProgressListener } from "./progress.js";
import type { ExecutionContext } from "./execution-context.js";
import { keyRequest, networkProviderName, networkRequest, vmRequest } from "./requests.js";
import { addImageToContext, addRecordToContext, resolveDefaultBaseImage } from "./template-context.js";
import { prefixName } from "./isolation.js";

export const DEFAULT_CONCURRENCY = 8;

/** How many provider calls of one phase run at once. */
function concurrencyOf(spec: Spec): number {
  return spec.concurrency ?? DEFAULT_CONCURRENCY;
}

export type ResourceGroup = "keys" | "networks" | "vms";
export const GROUP_OF: Record<ResourceKind, ResourceGroup> = { key: "keys", network: "networks", vm: "vms" };

export interface ResourceFailure {
  ref: ResourceRef;
  code: string;
  message: string;
}

const now = (): string => new Date().toISOString();

export function recordError(state: EnvironmentState, error: Omit<ErrorRecord, "timestamp">): void {
  state.errors.push({ ...error, timestamp: now() });
}

function specResource(spec: Spec, ref: ResourceRef): KeyResource | NetworkResource | VMResource | undefined {
  switch (ref.kind) {
    case "key":
      return spec.keys?.find((k) => k.name === ref.name);
    case "network":
      return spec.networks?.find((n) => n.name === ref.name);
    case "vm":
      return spec.vms?.find((v) => v.name === ref.name);
    default:
      return undefined;
  }
}

function providerFailure(result: OperationResult, fallback: string): { code: string; message: string } {
  return { code: result.error?.code ?? "PROVIDER_ERROR", message: result.error?.message ?? fallback };
}

/**
 * Records a resource as `pending` before its phase starts, so that a crash at any later point leaves a state
 * file that names it: delete then asks its provider to delete it (NOT_FOUND counts as deleted).
 */
export function planRecord(ctx: ExecutionContext, ref: ResourceRef & { kind: ResourceKind }, resource: KeyResource | NetworkResource | VMResource, options: { runtime?: boolean } = {}): ResourceRecord {
  const providerName = resolveProviderName(ctx.spec, resource);
  const external = ref.kind === "network" && isExternal(resource as NetworkResource);
  const record: ResourceRecord = {
    kind: ref.kind,
    name: ref.name,
    providerName: ref.kind === "network" ? networkProviderName(ref.name, ctx) : prefixName(ctx.state.prefix, ref.name),
    provider: providerName,
    engine: ctx.providers.get(providerName).engine,
    status: "pending",
    updatedAt: now(),
    ...(options.runtime ? { runtime: true } : {}),
    ...(external ? { external: true } : {}),
  };
  ctx.state.resources[GROUP_OF[ref.kind]][ref.name] = record;
  return record;
}

/** Saves in the background; the phase end awaits a save that includes every change. */
function persistSoon(ctx: ExecutionContext): void {
  ctx.persist().catch((error: unknown) => ctx.log.warn(`state save failed (retried at the end of the phase): ${errorMessage(error)}`));
}

/** Creates one key/network/VM: render just in time, Phase 2 validation, provider call, state and context update. */
export async function createResource(ctx: ExecutionContext, ref: ResourceRef & { kind: ResourceKind }, resource: KeyResource | NetworkResource | VMResource, options: { runtime?: boolean } = {}): Promise<ResourceFailure | undefined> {
  const path = `${GROUP_OF[ref.kind]}.${ref.name}`;
  let record = ctx.state.resources[GROUP_OF[ref.kind]][ref.name];
  if (!record || record.status === "destroyed") {
    record = planRecord(ctx, ref, resource, options);
    await ctx.persist();
  }
  const planned = record;
  const providerName = planned.provider;
  const client = ctx.providers.get(providerName);
  planned.status = "creating";
  planned.updatedAt = now();
  const fail = (code: string, message: string): ResourceFailure => {
    planned.status = "failed";
    planned.error = message;
    planned.errorCode = code;
    planned.updatedAt = now();
    recordError(ctx.state, { resource: { kind: ref.kind, name: ref.name, provider: providerName }, operation: "create", code, error: message });
    persistSoon(ctx);
    return { ref, code, message };
  };

  if (planned.external === true) return useExternalNetwork(ctx, planned, fail);

  let request: Record<string, unknown>;
  try {
    const rendered = renderTemplates(resource, ctx.templates, path);
    const issues = validateLate(ref.kind, rendered, ctx.spec, { prefix: ctx.state.prefix });
    if (issues.length > 0) return fail("INVALID_SPEC", `${ref.kind} ${ref.name}: phase 2 validation failed:\n${formatIssues(issues)}`);
    request =
      ref.kind === "key"
        ? keyRequest(rendered as KeyResource, ctx)
        : ref.kind === "network"
          ? networkRequest(rendered as NetworkResource, ctx)
          : vmRequest(rendered as VMResource, ctx);
  } catch (error) {
    return fail(isTestenvError(error) ? error.code : "INTERNAL", `${ref.kind} ${ref.name}: ${errorMessage(error)}`);
  }
  planned.request = request;

  const result = await client.call(`${ref.kind}_create`, request);
  if (!result.success) {
    const { code, message } = providerFailure(result, "provider returned no error detail");
    return fail(code, `${ref.kind} ${ref.name} (provider ${providerName}): ${code}: ${message}`);
  }
  const stateObject = resourceState(result.resource);
  if (typeof stateObject.name === "string" && stateObject.name !== planned.providerName) planned.providerName = stateObject.name;
  markReady(ctx, planned, stateObject);
  return undefined;
}

const resourceState = (resource: unknown): Record<string, unknown> => (resource && typeof resource === "object" ? (resource as Record<string, unknown>) : {});

/** The resource exists: record its provider state, and make it visible to the templates of later phases. */
function markReady(ctx: ExecutionContext, planned: ResourceRecord, state: Record<string, unknown>): void {
  planned.state = state;
  planned.status = "ready";
  planned.createdAt = now();
  planned.updatedAt = planned.createdAt;
  addRecordToContext(ctx.templates, planned);
  persistSoon(ctx);
}

const isExternal = (network: NetworkResource): boolean => network.external !== undefined && network.external !== "";

/** An external network is looked up, never created: it must exist, and its state feeds the templates. */
async function useExternalNetwork(ctx: ExecutionContext, planned: ResourceRecord, fail: (code: string, message: string) => ResourceFailure): Promise<ResourceFailure | undefined> {
  const result = await ctx.providers.get(planned.provider).call("network_get", { name: planned.providerName });
  if (!result.success) {
    const { code, message } = providerFailure(result, "provider returned no error detail");
    const hint = code === "NOT_FOUND" ? `; it is external (used, never created): create it first, or name an existing network or bridge` : "";
    return fail(code === "NOT_FOUND" ? "DEPENDENCY_FAILED" : code, `network ${planned.name}: external network "${planned.providerName}" (provider ${planned.provider}): ${code}: ${message}${hint}`);
  }
  markReady(ctx, planned, resourceState(result.resource));
  return undefined;
}

async function createImage(ctx: ExecutionContext, ref: ResourceRef): Promise<ResourceFailure | undefined> {
  try {
    const image = await ctx.images.resolve(ref.name);
    ctx.state.images = { ...(ctx.state.images ?? {}), [image.name]: image };
    addImageToContext(ctx.templates, image);
    ctx.templates.DefaultBaseImage = resolveDefaultBaseImage(ctx.spec.defaultBaseImage, ctx.templates);
    return undefined;
  } catch (error) {
    const code = isTestenvError(error) ? error.code : "IMAGE_ERROR";
    const message = `image ${ref.name}: ${errorMessage(error)}`;
    recordError(ctx.state, { resource: { kind: "image", name: ref.name }, operation: "create", code, error: message });
    return { ref, code, message };
  }
}

/**
 * Runs phases in order, resources of a phase in parallel (bounded). On the first phase with a failure, the
 * operations already running are allowed to finish, each error is recorded against its own resource, and no
 * later phase starts.
 */
export async function createPhases(ctx: ExecutionContext, phases: ResourceRef[][]): Promise<ResourceFailure[]> {
  const limit = pLimit(concurrencyOf(ctx.spec));
  for (const [index, phase] of phases.entries()) {
    const phaseNumber = index + 1;
    const first = phase[0];
    if (ctx.signal?.aborted && first !== undefined) return [cancelled(ctx, first, `create cancelled before phase ${phaseNumber}`)];
    safeEmit(ctx.onProgress, { kind: "phase", status: "start", phase: phaseNumber, totalPhases: phases.length, message: `phase ${phaseNumber}/${phases.length}: ${phase.map((r) => `${r.kind} ${r.name}`).join(", ")}` });
    for (const ref of phase) {
      if (ref.kind === "image") continue;
      const resource = specResource(ctx.spec, ref);
      if (resource) planRecord(ctx, ref as ResourceRef & { kind: ResourceKind }, resource);
    }
    await ctx.persist();
    const failures = await Promise.all(
      phase.map((ref) =>
        limit(async () => {
          const started = Date.now();
          safeEmit(ctx.onProgress, { kind: "resource", status: "start", phase: phaseNumber, totalPhases: phases.length, resource: ref, message: `creating ${ref.kind} ${ref.name}` });
          let failure: ResourceFailure | undefined;
          if (ctx.signal?.aborted) {
            failure = cancelled(ctx, ref, `create cancelled before ${ref.kind} ${ref.name} was started`);
          } else if (ref.kind === "image") {
            failure = await createImage(ctx, ref);
          } else {
            const resource = specResource(ctx.spec, ref);
            failure = resource
              ? await createResource(ctx, ref as ResourceRef & { kind: ResourceKind }, resource).catch((error: unknown) => ({ ref, code: "INTERNAL", message: `${ref.kind} ${ref.name}: ${errorMessage(error)}` }))
              : { ref, code: "INTERNAL", message: `${ref.kind} ${ref.name} is in the plan but not in the spec` };
          }
          const durationMs = Date.now() - started;
          safeEmit(ctx.onProgress, failure
            ? { kind: "resource", status: "failed", phase: phaseNumber, totalPhases: phases.length, resource: ref, durationMs, message: failure.message }
            : { kind: "resource", status: "done", phase: phaseNumber, totalPhases: phases.length, resource: ref, durationMs, message: `created ${ref.kind} ${ref.name}` });
          return failure;
        }),
      ),
    );
    await ctx.persist();
    const failed = failures.filter((f): f is ResourceFailure => f !== undefined);
    if (failed.length > 0) return failed;
    safeEmit(ctx.onProgress, { kind: "phase", status: "done", phase: phaseNumber, totalPhases: phases.length, message: `phase ${phaseNumber}/${phases.length} done` });
  }
  // Cancelled while the last phase ran: what it made is rolled back like everything else.
  const last = phases.at(-1)?.[0];
  if (ctx.signal?.aborted && last !== undefined) return [cancelled(ctx, last, "create cancelled while its last phase ran")];
  return [];
}

/** The create was cancelled: recorded in the state's errors, and reported like a failure so that it rolls back. */
function cancelled(ctx: ExecutionContext, ref: ResourceRef, message: string): ResourceFailure {
  recordError(ctx.state, { operation: "create", code: "CANCELLED", error: message });
  return { ref, code: "CANCELLED", message };
}

export interface DeletionOutcome {
  deleted: ResourceRecord[];
  remaining: ResourceRecord[];
  /** Of the remaining: those whose provider, or the host it manages them on, could not be reached, and which. */
  unreached: Array<{ record: ResourceRecord; where: string }>;
}

/** Where a failed delete could not reach: the host a provider named (details.unreachableHost), else undefined. */
function unreachedHost(result: OperationResult): string | undefined {
  const host = result.error?.details?.unreachableHost;
  return typeof host === "string" ? `host ${host}` : undefined;
}

/**
 * Deletes every recorded resource in reverse phase order, in parallel within a phase, continuing past errors.
 * NOT_FOUND counts as deleted. Used for rollback and for delete.
 */
export async function deletePhases(options: {
  state: EnvironmentState;
  providers: ProviderManager;
  operation: "rollback" | "delete";
  persist(): Promise<void>;
  onProgress?: ProgressListener;
  log: Logger;
  /** Providers that could not be started, with the reason: their resources stay recorded and are reported. */
  unavailable?: ReadonlyMap<string, string>;
}): Promise<DeletionOutcome> {
  const { state, providers, operation } = options;
  const limit = pLimit(concurrencyOf(state.spec));
  const deleted: ResourceRecord[] = [];
  const remaining: ResourceRecord[] = [];
  const unreached: DeletionOutcome["unreached"] = [];
  const phases = [...state.executionPlan.phases].reverse();
  for (const phase of phases) {
    await Promise.all(
      phase.resources.map((ref) =>
        limit(async () => {
          if (ref.kind === "image") return;
          const record = state.resources[GROUP_OF[ref.kind]][ref.name];
          if (!record || record.status === "destroyed") return;
          safeEmit(options.onProgress, { kind: operation === "rollback" ? "rollback" : "delete", status: "start", resource: ref, message: `deleting ${ref.kind} ${ref.name}` });
          record.status = "destroying";
          record.updatedAt = now();
          let result: OperationResult;
          const notStarted = options.unavailable?.get(record.provider);
          try {
            result =
              record.external === true
                ? { success: true } // never ours to delete
                : notStarted !== undefined
                ? { success: false, error: { code: "PROVIDER_ERROR", message: `provider ${record.provider} could not be started: ${notStarted}`, retryable: true } }
                : await providers.get(record.provider).call(`${ref.kind}_delete`, { name: record.providerName });
          } catch (error) {
            result = { success: false, error: { code: "PROVIDER_ERROR", message: errorMessage(error), retryable: false } };
          }
          if (result.success || result.error?.code === "NOT_FOUND") {
            record.status = "destroyed";
            record.updatedAt = now();
            delete record.error;
            delete record.errorCode;
            deleted.push(record);
            safeEmit(options.onProgress, { kind: operation === "rollback" ? "rollback" : "delete", status: "done", resource: ref, message: `deleted ${ref.kind} ${ref.name}` });
          } else {
            const { code, message } = providerFailure(result, "delete failed");
            record.status = "failed";
            record.error = `${operation} failed: ${code}: ${message}`;
            record.errorCode = code;
            record.updatedAt = now();
            recordError(state, { resource: { kind: ref.kind, name: ref.name, provider: record.provider }, operation, code, error: message });
            remaining.push(record);
            const where = notStarted !== undefined ? `provider ${record.provider}` : unreachedHost(result);
            if (where !== undefined) unreached.push({ record, where });
            options.log.warn(`${operation}: could not delete ${ref.kind} ${ref.name}: ${code}: ${message}`);
            safeEmit(options.onProgress, { kind: operation === "rollback" ? "rollback" : "delete", status: "failed", resource: ref, message: `${ref.kind} ${ref.name}: ${code}: ${message}` });
          }
          // A crash before the next save only means a later delete gets NOT_FOUND for this resource.
          options.persist().catch((error: unknown) => options.log.warn(`state save failed (retried at the end of the phase): ${errorMessage(error)}`));
        }),
      ),
    );
    await options.persist();
  }
  return { deleted, remaining, unreached };
}

/** Records that exist outside the plan (should not happen) are still deleted: append them as a last phase. */
export function planWithStrays(state: EnvironmentState): void {
  const planned = new Set(state.executionPlan.phases.flatMap((p) => p.resources.map((r) => `${r.kind}:${r.name}`)));
  const strays: ResourceRef[] = [];
  for (const group of Object.values(state.resources)) {
    for (const record of Object.values(group)) {
      if (!planned.has(`${record.kind}:${record.name}`)) strays.push({ kind: record.kind, name: record.name, provider: record.provider });
    }
  }
  if (strays.length > 0) state.executionPlan.phases.push({ resources: strays });
}
