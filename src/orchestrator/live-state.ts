import type { EnvironmentState, EnvironmentStatus, ResourceRecord } from "../../api/state.js";

// What a live status says, and how it is judged: a resource's record in the state file next to what its
// provider's `<kind>_get` answered. Pure (types and judgement only), so that the client's public declarations can
// name these types without the engine, and the judgement is tested without providers.

/** What the provider says now: a VM runs or is stopped, a key or network is present, or it is gone (missing). */
export type LiveState = "running" | "stopped" | "present" | "missing" | "unknown";

export interface VMDriftField {
  field: "memory" | "vcpus";
  requested: number;
  live: number;
}

/**
 * Whether a VM still has the memory (MiB) and vCPUs it was created with. `unknown` when the provider does not
 * report them (they are read from `memory`/`vcpus` of its state, or of its `providerState`).
 */
export interface VMDrift {
  status: "none" | "drifted" | "unknown";
  differences: VMDriftField[];
  note?: string;
}

export type Conflict = "missing" | "power" | "drift";

export interface LiveResource {
  kind: ResourceRecord["kind"];
  name: string;
  providerName: string;
  provider: string;
  /** An existing network the environment uses (spec `external`): looked up, never created or deleted. */
  external?: boolean;
  /** The record's status in the state file. */
  recorded: EnvironmentStatus;
  /** VMs: the power state the state file last recorded (`running`, `stopped`). */
  recordedPower?: string;
  live: LiveState;
  /** The provider's own status word, when it reports one (a VM's `running`, a network's `ready`). */
  providerStatus?: string;
  /** VMs only. */
  drift?: VMDrift;
  /** How the state file and the provider disagree about this resource, in words; absent when they agree. */
  mismatch?: string;
  /** The same as codes: gone although recorded ready, another power state than recorded, memory/vCPU drift. */
  conflicts?: Conflict[];
  /** Why the live state is unknown: the provider could not be started, or its get failed. */
  error?: string;
  /** The provider's state as `<kind>_get` answered it. */
  state?: Record<string, unknown>;
}

export interface LiveStatus {
  testID: string;
  /** The environment's status in the state file. */
  status: EnvironmentStatus;
  checkedAt: string;
  /** Every resource was looked up and agrees with the state file. */
  inSync: boolean;
  resources: LiveResource[];
  /** One sentence per resource whose live state disagrees with the state file. */
  mismatches: string[];
  /** One sentence per resource that could not be looked up. */
  errors: string[];
}

/** What a provider's get answered for one record. */
export type Lookup = { found: true; state: Record<string, unknown> } | { found: false } | { error: string };

const asObject = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const numberIn = (state: Record<string, unknown> | undefined, field: string): number | undefined => {
  const value = state?.[field] ?? asObject(state?.providerState)?.[field];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
};

/** Memory and vCPUs of the recorded vm_create request against what the provider reports now. */
export function vmDrift(record: ResourceRecord, live: Record<string, unknown>, provider: string): VMDrift {
  const requested = asObject(asObject(record.request)?.spec);
  const differences: VMDriftField[] = [];
  const unknown: string[] = [];
  for (const field of ["memory", "vcpus"] as const) {
    const want = numberIn(requested, field);
    const have = numberIn(live, field);
    if (want === undefined) unknown.push(`no ${field} in the recorded request`);
    else if (have === undefined) unknown.push(`provider ${provider} reports no ${field}`);
    else if (want !== have) differences.push({ field, requested: want, live: have });
  }
  if (differences.length > 0) return { status: "drifted", differences, ...(unknown.length > 0 ? { note: unknown.join("; ") } : {}) };
  if (unknown.length > 0) return { status: "unknown", differences, note: unknown.join("; ") };
  return { status: "none", differences };
}

function describeDrift(differences: readonly VMDriftField[]): string {
  const unit = (field: VMDriftField["field"]): string => (field === "memory" ? " MiB" : "");
  return differences.map((d) => `${d.field} is ${d.live}${unit(d.field)}, the request was ${d.requested}${unit(d.field)}`).join(", ");
}

/** The live side of one record, and how it compares with what the state file says. Pure: the lookup is done. */
export function judgeResource(record: ResourceRecord, lookup: Lookup): LiveResource {
  const recordedPower = record.kind === "vm" && typeof record.state?.status === "string" ? record.state.status : undefined;
  const base = {
    kind: record.kind,
    name: record.name,
    providerName: record.providerName,
    provider: record.provider,
    ...(record.external === true ? { external: true } : {}),
    recorded: record.status,
    ...(recordedPower === undefined ? {} : { recordedPower }),
  };
  const what = `${record.external === true ? "external " : ""}${record.kind} ${record.name}`;
  if ("error" in lookup) return { ...base, live: "unknown", error: `${what}: ${lookup.error}` };
  // Only a ready record claims that the resource exists; pending, failed or destroying ones claim nothing.
  const claimsToExist = record.status === "ready";
  if (!lookup.found) {
    return {
      ...base,
      live: "missing",
      ...(claimsToExist ? { mismatch: `${what}: the state file records it ready, but provider ${record.provider} has no ${record.providerName}`, conflicts: ["missing" as const] } : {}),
    };
  }
  const state = lookup.state;
  const providerStatus = typeof state.status === "string" ? state.status : undefined;
  const withState = { ...base, ...(providerStatus === undefined ? {} : { providerStatus }), state };
  if (record.kind !== "vm") return { ...withState, live: "present" };

  const live: LiveState = providerStatus === "running" ? "running" : "stopped";
  const drift = vmDrift(record, state, record.provider);
  const problems: string[] = [];
  const conflicts: Conflict[] = [];
  if (claimsToExist && recordedPower !== undefined && (recordedPower === "running") !== (live === "running")) {
    problems.push(`it is ${live}, but the state file records it ${recordedPower} (changed outside testenv-vm)`);
    conflicts.push("power");
  }
  if (drift.status === "drifted") {
    problems.push(describeDrift(drift.differences));
    conflicts.push("drift");
  }
  return { ...withState, live, drift, ...(problems.length > 0 ? { mismatch: `${what}: ${problems.join("; ")}`, conflicts } : {}) };
}

/** The environment's status from its state file and each resource's live state from its provider. */
export function summarizeLive(state: EnvironmentState, resources: LiveResource[], checkedAt = new Date().toISOString()): LiveStatus {
  const mismatches = resources.flatMap((r) => (r.mismatch === undefined ? [] : [r.mismatch]));
  const errors = resources.flatMap((r) => (r.error === undefined ? [] : [r.error]));
  return { testID: state.id, status: state.status, checkedAt, inSync: mismatches.length === 0 && errors.length === 0, resources, mismatches, errors };
}
