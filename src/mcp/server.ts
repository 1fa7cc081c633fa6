import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { createLogger, type Logger } from "../../lib/log.js";
import { packageVersion } from "../../lib/package.js";
import type { Engine } from "../orchestrator/orchestrator.js";
import { advertisedSchema } from "./inputs.js";
import { progressReporter } from "./progress.js";
import { failureResult } from "./results.js";
import { TOOLS } from "./tools/index.js";

export interface McpServerOptions {
  log?: Logger;
  version?: string;
  /** Called with each running operation so the process can wait for it before exiting. */
  track?: (operation: Promise<unknown>) => void;
}

/**
 * The SDK validates arguments against the registered schema and answers violations with its own text.
 * We register a schema that accepts any object and carries the real JSON Schema as metadata (so tools/list
 * still shows the exact contract), then validate in the handler to answer `<Tool> failed: <field>: ...`.
 */
function openSchema(schema: z.ZodType): z.ZodObject {
  return z.looseObject({}).meta(advertisedSchema(schema));
}

function safely(prefix: string, log: Logger, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  return run().catch((error: unknown) => {
    log.debug(`${prefix}: ${error instanceof Error ? error.message : String(error)}`);
    return failureResult(prefix, error);
  });
}

export function createMcpServer(engine: Engine, options: McpServerOptions = {}): McpServer {
  const log = options.log ?? createLogger("testenv-vm:mcp");
  const track = options.track ?? (() => undefined);
  const server = new McpServer(
    { name: "testenv-vm", version: options.version ?? packageVersion() },
    { capabilities: { tools: { listChanged: true }, logging: {} } },
  );
  for (const tool of TOOLS) {
    server.registerTool(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: openSchema(tool.input), annotations: tool.annotations },
      (args, extra) =>
        safely(tool.failurePrefix, log, () =>
          tool.handler(args, { engine, track, signal: extra.signal, onProgress: progressReporter(extra._meta?.progressToken, extra.sendNotification, log) }),
        ),
    );
  }
  return server;
}
