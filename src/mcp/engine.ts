import type {
  ConfigValidateOutput,
  CreateInput,
  DeleteInput,
  EnvironmentState,
  EnvironmentStatus,
  TestEnvArtifact,
} from "../../api/index.js";

// The part of the orchestrator the surfaces (MCP server, CLI) drive. Kept structural so the surfaces
// can be tested against the real Orchestrator and nothing else has to know about MCP or argv.

export interface ProgressEvent {
  kind: "phase" | "resource" | "rollback" | "delete" | "info";
  status: "start" | "done" | "failed" | "skipped";
  message: string;
  phase?: number;
  totalPhases?: number;
  resource?: { kind: string; name: string };
}

export interface CreateOptions {
  onProgress?: (event: ProgressEvent) => void;
  keepOnFailure?: boolean;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  onProgress?: (event: ProgressEvent) => void;
  stateDir?: string;
}

export interface EnvironmentSummary {
  testID: string;
  stage: string;
  status: EnvironmentStatus;
  stateFile: string;
  createdAt: string;
  updatedAt: string;
  resources: Array<{ kind: string; name: string; providerName: string; status: string; provider: string }>;
}

export interface Engine {
  create(input: CreateInput, options?: CreateOptions): Promise<TestEnvArtifact>;
  delete(input: DeleteInput, options?: DeleteOptions): Promise<{ deleted: number; alreadyGone: boolean }>;
  validate(rawSpec: unknown): ConfigValidateOutput;
  status(testID: string, options?: { stateDir?: string }): Promise<EnvironmentState>;
  list(options?: { stateDir?: string }): Promise<EnvironmentSummary[]>;
}
