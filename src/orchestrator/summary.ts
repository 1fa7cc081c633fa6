import type { TestEnvArtifact } from "../../api/forge.js";
import type { EnvironmentState, EnvironmentStatus, ResourceRecord } from "../../api/state.js";

// What the surfaces show of an environment, built from its state: the full status (every resource with its
// provider state, for `status`), the one-line row of `list`, and the records named in error messages. All walk
// the resources the same way.

/** Every resource of the state: keys, then networks, then VMs, each in recorded order. */
export function resourceRecords(state: EnvironmentState): ResourceRecord[] {
  return [...Object.values(state.resources.keys), ...Object.values(state.resources.networks), ...Object.values(state.resources.vms)];
}

/** The resources that may still exist: every record not yet destroyed. */
export function liveRecords(state: EnvironmentState): ResourceRecord[] {
  return resourceRecords(state).filter((record) => record.status !== "destroyed");
}

/** Records for an error message: `vm web (3f2a1c-web: reason), ...`. */
export function describeRecords(records: readonly ResourceRecord[]): string {
  return records.map((r) => `${r.kind} ${r.name} (${r.providerName}${r.error ? `: ${r.error}` : ""})`).join(", ");
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
      if (typeof entry === "string") out[key] = entry;
    }
  }
  return out;
}

/** All five keys, maps `{}` and the list `[]` when empty: Forge never sees null. */
export function normalizeArtifact(artifact: TestEnvArtifact): TestEnvArtifact {
  return {
    testID: artifact.testID,
    files: stringMap(artifact.files),
    metadata: stringMap(artifact.metadata),
    managedResources: Array.isArray(artifact.managedResources) ? artifact.managedResources.filter((r) => typeof r === "string") : [],
    env: stringMap(artifact.env),
  };
}

export interface ResourceSummary {
  kind: string;
  name: string;
  providerName: string;
  provider: string;
  engine: string;
  status: string;
  error?: string;
  errorCode?: string;
  state?: Record<string, unknown>;
}

export interface StateSummary {
  testID: string;
  stage: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  prefix: string;
  stateDir: string;
  artifactDir: string;
  phases: Array<Array<{ kind: string; name: string }>>;
  resources: ResourceSummary[];
  errors: EnvironmentState["errors"];
  artifact?: TestEnvArtifact;
  /** Where each provider that names a pool of hosts placed its resources, and why. */
  placements?: NonNullable<EnvironmentState["placements"]>;
}

/** What an agent or `status` needs to see of an environment: no spec, every resource with its provider state. */
export function summarizeState(state: EnvironmentState): StateSummary {
  return {
    testID: state.id,
    stage: state.stage,
    status: state.status,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    prefix: state.prefix,
    stateDir: state.stateDir,
    artifactDir: state.artifactDir,
    phases: state.executionPlan.phases.map((phase) => phase.resources.map((r) => ({ kind: r.kind, name: r.name }))),
    resources: resourceRecords(state).map((record) => ({
      kind: record.kind,
      name: record.name,
      providerName: record.providerName,
      provider: record.provider,
      engine: record.engine,
      status: record.status,
      ...(record.error === undefined ? {} : { error: record.error }),
      ...(record.errorCode === undefined ? {} : { errorCode: record.errorCode }),
      ...(record.state === undefined ? {} : { state: record.state }),
    })),
    errors: state.errors,
    ...(state.artifact === undefined ? {} : { artifact: normalizeArtifact(state.artifact) }),
    ...(state.placements === undefined ? {} : { placements: state.placements }),
  };
}

export interface EnvironmentSummary {
  testID: string;
  stage: string;
  status: EnvironmentStatus;
  stateFile: string;
  createdAt: string;
  updatedAt: string;
  prefix: string;
  artifactDir: string;
  resources: Array<{ kind: string; name: string; providerName: string; status: string; provider: string; ip?: string }>;
  error?: string;
}

/** One row of `list`. */
export function summarize(state: EnvironmentState, stateFile: string): EnvironmentSummary {
  return {
    testID: state.id,
    stage: state.stage,
    status: state.status,
    stateFile,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    prefix: state.prefix,
    artifactDir: state.artifactDir,
    resources: resourceRecords(state).map((r) => ({
      kind: r.kind,
      name: r.name,
      providerName: r.providerName,
      status: r.status,
      provider: r.provider,
      ...(typeof r.state?.ip === "string" && r.state.ip !== "" ? { ip: r.state.ip } : {}),
    })),
  };
}

/** The row of `list` for a state file that could not be read. */
export function unreadableSummary(testID: string, stateFile: string, error: string): EnvironmentSummary {
  return { testID, stage: "", status: "failed", stateFile, createdAt: "", updatedAt: "", prefix: "", artifactDir: "", resources: [], error };
}
