import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  DeleteRequest,
  GetRequest,
  KeyCreateRequest,
  ListRequest,
  NetworkCreateRequest,
  VMCreateRequest,
  type CapabilitiesResponse,
  type KeyState,
  type NetworkState,
  type OperationResult,
  type ProviderToolName,
  type VMState,
} from "../../api/provider.js";
import { ProviderError } from "./errors.js";
import type { ProviderContext } from "./context.js";

/** The four operations of one resource kind. A provider leaves out a kind it does not serve. */
export interface ResourceHandlers<Request, State> {
  create(request: Request): Promise<State>;
  get(name: string): Promise<State>;
  list(filter: Record<string, unknown> | undefined): Promise<State[]>;
  delete(name: string, force: boolean): Promise<void>;
}

export interface ProviderImplementation {
  capabilities(): CapabilitiesResponse;
  keys?: ResourceHandlers<KeyCreateRequest, KeyState>;
  networks?: ResourceHandlers<NetworkCreateRequest, NetworkState>;
  vms?: ResourceHandlers<VMCreateRequest, VMState>;
  /** Called once when the process is asked to stop. */
  shutdown?(): Promise<void>;
}

interface ToolDefinition {
  description: string;
  input: z.ZodType;
  destructive: boolean;
  readOnly: boolean;
  run(impl: ProviderImplementation, args: unknown): Promise<unknown>;
}

// The original Go client reads lines of at most 64 KiB; keep the text form under that.
const MAX_TEXT_BYTES = 60 * 1024;

function handlersFor<R, S>(handlers: ResourceHandlers<R, S> | undefined, kind: string, operation: string): ResourceHandlers<R, S> {
  if (!handlers) {
    throw new ProviderError("NOT_IMPLEMENTED", `operation "${operation}" not implemented for resource "${kind}"`);
  }
  return handlers;
}

function resourceTools<R, S>(
  kind: "key" | "network" | "vm",
  createInput: z.ZodType<R>,
  pick: (impl: ProviderImplementation) => ResourceHandlers<R, S> | undefined,
): Record<string, ToolDefinition> {
  const tools: Record<string, ToolDefinition> = {
    [`${kind}_create`]: {
      description: `Create a ${kind}.`,
      input: createInput,
      destructive: false,
      readOnly: false,
      run: (impl, args) => handlersFor(pick(impl), kind, "create").create(args as R),
    },
    [`${kind}_get`]: {
      description: `Get a ${kind}'s state by name.`,
      input: GetRequest,
      destructive: false,
      readOnly: true,
      run: (impl, args) => handlersFor(pick(impl), kind, "get").get((args as GetRequest).name),
    },
    [`${kind}_list`]: {
      description: `List ${kind}s.`,
      input: ListRequest,
      destructive: false,
      readOnly: true,
      run: (impl, args) => handlersFor(pick(impl), kind, "list").list((args as ListRequest).filter),
    },
    [`${kind}_delete`]: {
      description: `Delete a ${kind}. NOT_FOUND when it does not exist.`,
      input: DeleteRequest,
      destructive: true,
      readOnly: false,
      run: async (impl, args) => {
        const request = args as DeleteRequest;
        await handlersFor(pick(impl), kind, "delete").delete(request.name, request.force ?? false);
        return undefined;
      },
    },
  };
  return tools;
}

const toolTable: Record<string, ToolDefinition> = {
  provider_capabilities: {
    description: "Return the resource kinds and operations this provider supports.",
    input: z.strictObject({}),
    destructive: false,
    readOnly: true,
    run: (impl) => Promise.resolve(impl.capabilities()),
  },
  ...resourceTools("key", KeyCreateRequest, (impl) => impl.keys),
  ...resourceTools("network", NetworkCreateRequest, (impl) => impl.networks),
  ...resourceTools("vm", VMCreateRequest, (impl) => impl.vms),
};
export const TOOL_DEFINITIONS = toolTable as Record<ProviderToolName, ToolDefinition>;

/** Turns zod issues into one message that names each field. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[") : "(arguments)";
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

// The kit's exported signatures use these own shapes instead of the SDK's types: the SDK's declarations need the DOM
// lib (HeadersInit), so naming them here would break a provider author's `skipLibCheck: false` build.

/** An MCP tools/call result as a provider sends it: the OperationResult as JSON text and as structured content. */
export interface ProviderToolResult {
  [key: string]: unknown;
  content: Array<{ type: "text"; text: string }>;
  structuredContent: OperationResult;
  isError?: true;
}

/** The provider's MCP server (the SDK's Server), as far as a caller uses it. */
export interface ProviderServer {
  /** Serves over an SDK transport, e.g. `new StdioServerTransport()`. */
  connect(transport: ProviderServerTransport): Promise<void>;
  close(): Promise<void>;
}

/** The SDK's Transport, as far as this signature needs to name it. */
export interface ProviderServerTransport {
  start(): Promise<void>;
  send(message: unknown, options?: unknown): Promise<void>;
  close(): Promise<void>;
}

export function encodeResult(result: OperationResult): ProviderToolResult {
  let text = JSON.stringify(result);
  if (Buffer.byteLength(text) > MAX_TEXT_BYTES) {
    text = JSON.stringify({ success: result.success, error: result.error, truncated: true });
  }
  return {
    content: [{ type: "text", text }],
    structuredContent: result,
    ...(result.success ? {} : { isError: true }),
  };
}

export async function callTool(impl: ProviderImplementation, name: string, rawArgs: unknown, context: ProviderContext): Promise<OperationResult> {
  const tool = TOOL_DEFINITIONS[name as ProviderToolName] as ToolDefinition | undefined;
  if (!tool) {
    return failure(new ProviderError("NOT_IMPLEMENTED", `unknown tool "${name}"; see tools/list`));
  }
  const parsed = tool.input.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    return failure(new ProviderError("INVALID_SPEC", `${name}: ${describeZodError(parsed.error)}`));
  }
  const started = Date.now();
  try {
    const resource = await tool.run(impl, parsed.data);
    context.log.debug(`${name} ok`, { ms: Date.now() - started });
    return resource === undefined ? { success: true } : { success: true, resource };
  } catch (error) {
    context.log.warn(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return failure(error);
  }
}

function failure(error: unknown): OperationResult {
  if (error instanceof ProviderError) return { success: false, error: error.toOperationError() };
  const message = error instanceof Error ? error.message : String(error);
  return { success: false, error: { code: "PROVIDER_ERROR", message, retryable: false } };
}

export function createProviderServer(impl: ProviderImplementation, info: { name: string; version: string }, context: ProviderContext): ProviderServer {
  const server = new Server(info, { capabilities: { tools: {}, logging: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: Object.entries(TOOL_DEFINITIONS).map(([name, tool]) => ({
      name,
      description: tool.description,
      inputSchema: z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" }) as { type: "object" },
      annotations: { destructiveHint: tool.destructive, readOnlyHint: tool.readOnly, idempotentHint: tool.readOnly || tool.destructive },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) =>
    encodeResult(await callTool(impl, request.params.name, request.params.arguments, context)),
  );
  return server;
}
