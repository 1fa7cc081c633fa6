import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { createLogger, type Logger } from "../../lib/log.js";
import { packageVersion } from "../../lib/package.js";
import type { Engine } from "../orchestrator/orchestrator.js";
import { resolveStateDir } from "../state/paths.js";
import { advertisedSchema } from "./inputs.js";
import { progressReporter } from "./progress.js";
import { registerPrompts, registerResources } from "./resources.js";
import { failureResult } from "./results.js";
import type { ToolDefinition } from "./tool.js";
import { TOOLS } from "./tools/index.js";
import { VmSessions } from "./vm-sessions.js";

export interface McpServerOptions {
  log?: Logger;
  version?: string;
  /** Called with each running operation so the process can wait for it before exiting. */
  track?: (operation: Promise<unknown>) => void;
  /** The one state dir whose environments agents may reach (default: TESTENV_VM_STATE_DIR, else the default under cwd). */
  stateDir?: string;
  /** Host directories copy may use besides an environment's artifact dir (absolute; from the server's configuration). */
  hostPaths?: readonly string[];
}

export interface TestenvMcpServer {
  server: McpServer;
  /** Closes the kept SSH connections (the process calls it before exiting). */
  closeSessions: () => Promise<void>;
}

/**
 * The SDK validates arguments against the registered schema and answers violations with its own text.
 * We register a schema that accepts any object and carries the real JSON Schema as metadata (so tools/list
 * still shows the exact contract), then validate in the handler to answer `<Tool> failed: <field>: ...`.
 */
function openSchema(schema: z.ZodType): z.ZodObject {
  return z.looseObject({}).meta(advertisedSchema(schema));
}

function safely(tool: ToolDefinition, log: Logger, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  return run().catch((error: unknown) => {
    log.debug(`${tool.failurePrefix}: ${error instanceof Error ? error.message : String(error)}`);
    return failureResult(tool.failurePrefix, error, { hasOutputSchema: tool.output !== undefined });
  });
}

export function createMcpServer(engine: Engine, options: McpServerOptions = {}): McpServer {
  return createTestenvMcpServer(engine, options).server;
}

export function createTestenvMcpServer(engine: Engine, options: McpServerOptions = {}): TestenvMcpServer {
  const log = options.log ?? createLogger("testenv-vm:mcp");
  const track = options.track ?? (() => undefined);
  const sessions = new VmSessions(options.stateDir ?? resolveStateDir({ env: process.env, rootDir: process.cwd() }), log);
  const hostPaths = options.hostPaths ?? [];
  const server = new McpServer(
    { name: "testenv-vm", version: options.version ?? packageVersion() },
    { capabilities: { tools: { listChanged: true }, logging: {} } },
  );
  registerResources(server, engine, sessions);
  registerPrompts(server, TOOLS);
  const resourcesChanged = (): void => {
    try {
      if (server.isConnected()) server.sendResourceListChanged();
    } catch (error) {
      log.debug(`resource list change not sent: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  for (const tool of TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: openSchema(tool.input),
        ...(tool.output ? { outputSchema: tool.output } : {}),
        annotations: tool.annotations,
      },
      (args, extra) =>
        safely(tool, log, () =>
          tool.handler(args, {
            engine,
            track,
            signal: extra.signal,
            onProgress: progressReporter(extra._meta?.progressToken, extra.sendNotification, log),
            sessions,
            hostPaths,
            resourcesChanged,
          }),
        ),
    );
  }
  return { server, closeSessions: () => sessions.closeAll() };
}
