import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { resolve } from "node:path";
import { z } from "zod";
import { errorMessage, isTestenvError } from "../errors.js";
import { createLogger, type Logger } from "../../lib/log.js";
import { loadSpecFile } from "../spec/load.js";
import type { Engine } from "../orchestrator/orchestrator.js";
import {
  ConfigValidateToolInput,
  CreateToolInput,
  DeleteToolInput,
  ListInput,
  StatusInput,
  advertisedSchema,
  parseCreateArgs,
  parseDeleteArgs,
  parseListArgs,
  parseStatusArgs,
  parseValidateArgs,
} from "./inputs.js";
import { progressReporter } from "./progress.js";
import { normalizeArtifact, summarizeState } from "../orchestrator/summary.js";
import { TEXT, failureResult } from "./results.js";
import { packageVersion } from "../../lib/package.js";

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
function openSchema(schema: z.ZodType, required: readonly string[] = []): z.ZodObject {
  return z.looseObject({}).meta(advertisedSchema(schema, required));
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

  server.registerTool(
    "create",
    {
      title: "Create test environment",
      description:
        "Create the keys, networks and VMs of a testenv-vm spec for one test run (Forge testenv engine contract). " +
        "Idempotent: the same testID and spec returns the existing environment. On failure everything created is rolled back " +
        "unless keepOnFailure is set. Sends progress notifications when the request has a progressToken.",
      inputSchema: openSchema(CreateToolInput),
      annotations: { destructiveHint: false, idempotentHint: true, readOnlyHint: false, openWorldHint: false },
    },
    (args, extra) =>
      safely("Create failed", log, async () => {
        const input = parseCreateArgs(args);
        const onProgress = progressReporter(extra._meta?.progressToken, extra.sendNotification, log);
        const operation = engine.create(input, {
          ...(onProgress ? { onProgress } : {}),
          ...(input.keepOnFailure === undefined ? {} : { keepOnFailure: input.keepOnFailure }),
        });
        track(operation);
        const artifact = normalizeArtifact(await operation);
        return {
          content: [{ type: "text", text: TEXT.created }],
          structuredContent: artifact,
        };
      }),
  );

  server.registerTool(
    "delete",
    {
      title: "Delete test environment",
      description:
        "Delete every resource of an environment from its state file (no spec needed), then the state file and artifact dir. " +
        "Succeeds when the environment is already gone. Fails, listing what is left, when something could not be deleted.",
      inputSchema: openSchema(DeleteToolInput),
      annotations: { destructiveHint: true, idempotentHint: true, readOnlyHint: false, openWorldHint: false },
    },
    (args, extra) =>
      safely("Delete failed", log, async () => {
        const { stateDir, ...input } = parseDeleteArgs(args);
        const onProgress = progressReporter(extra._meta?.progressToken, extra.sendNotification, log);
        const operation = engine.delete(input, {
          ...(onProgress ? { onProgress } : {}),
          ...(stateDir === undefined ? {} : { stateDir }),
        });
        track(operation);
        await operation;
        return { content: [{ type: "text", text: TEXT.deleted }] };
      }),
  );

  server.registerTool(
    "config-validate",
    {
      title: "Validate a testenv-vm spec",
      description: "Check a spec without creating anything: schema, names, providers, references, templates and cycles. Never an error result.",
      inputSchema: openSchema(ConfigValidateToolInput),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      safely("Validation failed", log, async () => {
        let input: ReturnType<typeof parseValidateArgs>;
        try {
          input = parseValidateArgs(args);
        } catch (error) {
          return validationResult({ valid: false, errors: issuesOf(error) });
        }
        if (input.spec != null) return validationResult(engine.validate(input.spec));
        if (input.configPath !== undefined && input.configPath !== "") {
          // A path to a forge.yaml or spec file: the same loader as the CLI, so errors carry line:col.
          const path = resolve(input.directoryParams?.rootDir ?? process.cwd(), input.configPath);
          try {
            const loaded = await loadSpecFile(path, input.specName === undefined ? {} : { name: input.specName });
            return validationResult(engine.validate(loaded.raw));
          } catch (error) {
            return validationResult({ valid: false, errors: issuesOf(error) });
          }
        }
        return validationResult({ valid: false, errors: [{ field: "spec", message: "required: pass the testenv-vm spec (or configPath) to validate" }] });
      }),
  );

  server.registerTool(
    "status",
    {
      title: "Show one environment",
      description: "Status of an environment and of each of its resources (provider name, status, provider state, errors), from its state file.",
      inputSchema: openSchema(StatusInput),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      safely("Status failed", log, async () => {
        const input = parseStatusArgs(args);
        const state = await engine.status(input.testID, input.stateDir === undefined ? {} : { stateDir: input.stateDir });
        const summary = summarizeState(state);
        const counts = countByStatus(summary.resources.map((r) => r.status));
        return {
          content: [{ type: "text", text: `Environment ${summary.testID} is ${summary.status}: ${summary.resources.length} resource(s)${counts}` }],
          structuredContent: summary as unknown as Record<string, unknown>,
        };
      }),
  );

  server.registerTool(
    "list",
    {
      title: "List environments",
      description: "Every environment with a state file in the state directory, with its status and resources.",
      inputSchema: openSchema(ListInput),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      safely("List failed", log, async () => {
        const input = parseListArgs(args);
        const environments = await engine.list(input.stateDir === undefined ? {} : { stateDir: input.stateDir });
        const lines = environments.map((env) => `${env.testID} ${env.status} (${env.resources.length} resource(s))`);
        return {
          content: [{ type: "text", text: [`${environments.length} environment(s)`, ...lines].join("\n") }],
          structuredContent: { environments, count: environments.length },
        };
      }),
  );

  return server;
}

function validationResult(output: { valid: boolean; errors?: Array<{ field: string; message: string }> | undefined }): CallToolResult {
  const errors = output.errors ?? [];
  const valid = output.valid && errors.length === 0;
  return {
    content: [{ type: "text", text: valid ? TEXT.valid : TEXT.invalid(errors.length) }],
    structuredContent: valid ? { valid: true } : { valid: false, errors: errors.map(({ field, message }) => ({ field, message })) },
  };
}

/** A failure as validation errors: its issues (with line:col folded into the message), or its message. */
function issuesOf(error: unknown): Array<{ field: string; message: string }> {
  if (isTestenvError(error) && error.issues.length > 0) {
    return error.issues.map((i) => ({ field: i.field, message: i.line === undefined ? i.message : `${i.message} (line ${i.line}:${i.col ?? 1})` }));
  }
  return [{ field: "spec", message: errorMessage(error) }];
}

function countByStatus(statuses: readonly string[]): string {
  if (statuses.length === 0) return "";
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return ` (${[...counts].map(([status, n]) => `${n} ${status}`).join(", ")})`;
}
