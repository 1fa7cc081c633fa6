import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { Engine } from "../orchestrator/orchestrator.js";
import type { ProgressListener } from "../orchestrator/progress.js";
import type { VmSessions } from "./vm-sessions.js";

export interface ToolContext {
  engine: Engine;
  /** Sends `notifications/progress` when the request carried a progressToken. */
  onProgress: ProgressListener | undefined;
  /** Hands a running operation to the process, which waits for it before exiting. */
  track: (operation: Promise<unknown>) => void;
  /** Aborted when the client cancels the request (notifications/cancelled). */
  signal: AbortSignal;
  /** The kept SSH connections to the VMs of this server's state dir. */
  sessions: VmSessions;
  /** Host directories (absolute, real paths) that copy may use besides an environment's artifact dir: server configuration only. */
  hostPaths: readonly string[];
  /** Tells the client that the list of environments (resources) changed. */
  resourcesChanged: () => void;
}

/**
 * One MCP tool, in its own file under tools/ and listed in tools/index.ts. The handler validates its arguments
 * itself (inputs.ts) and throws on failure: the server answers `<failurePrefix>: <message>` with isError.
 */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  /** The exact contract, advertised as JSON Schema in tools/list. */
  input: z.ZodType;
  /** Schema of structuredContent on success, advertised as outputSchema (the SDK checks results against it). */
  output?: z.ZodObject;
  annotations: ToolAnnotations;
  /** `Create failed`: Forge shows the failure text `<failurePrefix>: <message>`. */
  failurePrefix: string;
  handler(args: Record<string, unknown>, context: ToolContext): Promise<CallToolResult>;
}
