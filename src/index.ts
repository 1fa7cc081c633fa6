// The library entry point: run environments from code. Explicit named exports only: adding one makes it public API.
export { Orchestrator, cleanupOnFailure, hashSpec, summarize } from "./orchestrator/orchestrator.js";
export type { CreateOptions, DeleteOptions, DeleteResult, EnvironmentSummary, OrchestratorOptions, ProgressEvent, ProgressListener } from "./orchestrator/orchestrator.js";
export { TestenvError, isTestenvError, formatIssues } from "./errors.js";
export type { Issue, TestenvErrorCode } from "./errors.js";
export { loadSpecFile, parseSpec, parseSpecText } from "./spec/load.js";
export type { LoadedSpec } from "./spec/load.js";
