import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { EnvironmentState, TestEnvArtifact } from "../../api/index.js";
import { errorMessage, formatIssues, isTestenvError } from "../errors.js";

// Texts are part of the wire contract: Forge shows content[0].text of a failure and reads only
// structuredContent of a success (contract §1.2).
export const TEXT = {
  created: "Created test environment resource using testenv-vm",
  deleted: "Deleted test environment resource using testenv-vm",
  valid: "Configuration is valid",
  invalid: (count: number) => `Configuration validation failed with ${count} error(s)`,
} as const;

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
}

/** What an agent needs to see of an environment: no spec, every resource with its provider state. */
export function summarizeState(state: EnvironmentState): StateSummary {
  const resources: ResourceSummary[] = [];
  for (const group of [state.resources.keys, state.resources.networks, state.resources.vms]) {
    for (const record of Object.values(group)) {
      resources.push({
        kind: record.kind,
        name: record.name,
        providerName: record.providerName,
        provider: record.provider,
        engine: record.engine,
        status: record.status,
        ...(record.error === undefined ? {} : { error: record.error }),
        ...(record.errorCode === undefined ? {} : { errorCode: record.errorCode }),
        ...(record.state === undefined ? {} : { state: record.state }),
      });
    }
  }
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
    resources,
    errors: state.errors,
    ...(state.artifact === undefined ? {} : { artifact: normalizeArtifact(state.artifact) }),
  };
}

/** The failure's message, then every issue about a field the message does not already name. */
export function describeFailure(error: unknown): string {
  const message = errorMessage(error);
  if (!isTestenvError(error) || error.issues.length === 0) return message;
  const missing = error.issues.filter((issue) => !message.includes(issue.field));
  return missing.length === 0 ? message : `${message}\n${formatIssues(missing)}`;
}

/** Machine-readable companion of a failure text, for agents (Forge reads only the text). */
export function failureDetails(error: unknown): Record<string, unknown> {
  if (!isTestenvError(error)) return { code: "INTERNAL", message: errorMessage(error) };
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.issues.length > 0 ? { issues: error.issues } : {}),
    ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}),
  };
}

export function failureResult(prefix: string, error: unknown): CallToolResult {
  return {
    content: [{ type: "text", text: `${prefix}: ${describeFailure(error)}` }],
    structuredContent: { error: failureDetails(error) },
    isError: true,
  };
}
