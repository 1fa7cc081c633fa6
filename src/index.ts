// The library entry point: run environments from code. Explicit named exports only: adding one makes it public API.
export { Orchestrator, cleanupOnFailure, hashSpec } from "./orchestrator/orchestrator.js";
export type { CreateOptions, DeleteOptions, DeleteResult, OrchestratorOptions, ProgressEvent, ProgressListener } from "./orchestrator/orchestrator.js";
export { summarize } from "./orchestrator/summary.js";
export type { EnvironmentSummary } from "./orchestrator/summary.js";
export { TestenvError, isTestenvError, formatIssues } from "./errors.js";
export type { Issue, TestenvErrorCode } from "./errors.js";
export { loadSpecFile, parseSpec, parseSpecText } from "./spec/load.js";
export type { LoadedSpec } from "./spec/load.js";
