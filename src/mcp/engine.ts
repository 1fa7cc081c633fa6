import type { Orchestrator } from "../orchestrator/orchestrator.js";

export type { ProgressEvent } from "../orchestrator/progress.js";
export type { EnvironmentSummary } from "../orchestrator/orchestrator.js";

/** The part of the orchestrator the surfaces (MCP server, CLI) drive; tests can hand in a double. */
export type Engine = Pick<Orchestrator, "create" | "delete" | "validate" | "status" | "list">;
