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
  VMStartRequest,
  VMStopRequest,
  type CapabilitiesResponse,
  type KeyState,
  type NetworkState,
  type OperationResult,
  type ProviderToolName,
  type VMState,
} from "../../api/provider.js";
import { ProviderError } from "./errors.js";
import { applyListFilter, checkListFilter } from "./filter.js";
import { MACHINE_TOOL_DEFINITIONS, isMachineTool, type MachineHandlers } from "./machine-tools.js";
import type { ProviderContext } from "./context.js";
import { OPTIONAL_TOOL_DEFINITIONS, type DiscoveryHandlers, type OwnershipHandlers } from "./optional-tools.js";
import { SNAPSHOT_TOOL_DEFINITIONS, isSnapshotTool, snapshotsNotImplemented, type SnapshotHandlers } from "./snapshot-tools.js";

/** The four operations of one resource kind. A provider leaves out a kind it does not serve. */
export interface ResourceHandlers<Request, State> {
  create(request: Request): Promise<State>;
  get(name: string): Promise<State>;
  /** The kit applies `filter` to what this returns; a handler may use it to look at less. */
  list(filter: Record<string, unknown> | undefined): Promise<State[]>;
  delete(name: string, force: boolean): Promise<void>;
}

/** VMs may also be powered on and off; a provider without these answers NOT_IMPLEMENTED. */
export interface VMHandlers extends ResourceHandlers<VMCreateRequest, VMState> {
  /** Powers the VM on (no-op when it runs) and, with waitReady, waits for its readiness checks again. */
  start?(request: VMStartRequest): Promise<VMState>;
  /** Powers the VM off, keeping its disks; the answer carries stopMethod. */
  stop?(request: VMStopRequest): Promise<VMState>;
}

export interface ProviderImplementation extends DiscoveryHandlers, OwnershipHandlers {
  capabilities(): CapabilitiesResponse;
  keys?: ResourceHandlers<KeyCreateRequest, KeyState>;
  networks?: ResourceHandlers<NetworkCreateRequest, NetworkState>;
  vms?: VMHandlers;
  /** The optional manifest tools (machine_*); listed in tools/list only when present. */
  machines?: MachineHandlers;
  /** The optional snapshot tools (vm_snapshot_*): served, not listed (tools/list keeps the 15); NOT_IMPLEMENTED without. */
  snapshots?: SnapshotHandlers;
  /** Without `snapshots`: why this provider cannot snapshot here (ends the NOT_IMPLEMENTED message). */
  snapshotsUnavailable?(): Promise<string>;
  /** Called once when the process is asked to stop. */
  shutdown?(): Promise<void>;
}

interface ToolDefinition {
  description: string;
  input: z.ZodType;
  destructive: boolean;
  readOnly: boolean;
  idempotent: boolean;
  run(impl: ProviderImplementation, args: unknown): Promise<unknown>;
}

// The original Go client reads lines of at most 64 KiB; keep the text form under that.
const MAX_TEXT_BYTES = 60 * 1024;

type ResourceKind = "key" | "network" | "vm";

/** One operation on one resource kind: its schema and hints, and the handler method that serves it (if any). */
interface OperationSpec<H> {
  operation: string;
  description: string;
  input: z.ZodType;
  destructive: boolean;
  readOnly: boolean;
  /** Default: read-only and destructive tools are idempotent, create is not. */
  idempotent?: boolean;
  /** The handler's method for this operation, or undefined when the provider does not implement it. */
  method(handlers: H): ((args: never) => Promise<unknown>) | undefined;
}

/** The one way a tool is made: `<kind>_<operation>`, NOT_IMPLEMENTED when the kind or the method is missing. */
function operationTools<H>(kind: ResourceKind, pick: (impl: ProviderImplementation) => H | undefined, specs: readonly OperationSpec<H>[]): Record<string, ToolDefinition> {
  const tools: Record<string, ToolDefinition> = {};
  for (const spec of specs) {
    tools[`${kind}_${spec.operation}`] = {
      description: spec.description,
      input: spec.input,
      destructive: spec.destructive,
      readOnly: spec.readOnly,
      idempotent: spec.idempotent ?? (spec.readOnly || spec.destructive),
      run: (impl, args) => {
        const handlers = pick(impl);
        const method = handlers === undefined ? undefined : spec.method(handlers);
        if (method === undefined) {
          return Promise.reject(new ProviderError("NOT_IMPLEMENTED", `operation "${spec.operation}" not implemented for resource "${kind}"`));
        }
        return (method as (args: unknown) => Promise<unknown>)(args);
      },
    };
  }
  return tools;
}

function crudSpecs<R, S>(kind: ResourceKind, createInput: z.ZodType<R>): OperationSpec<ResourceHandlers<R, S>>[] {
  return [
    { operation: "create", description: `Create a ${kind}.`, input: createInput, destructive: false, readOnly: false, method: (h) => (args: R) => h.create(args) },
    { operation: "get", description: `Get a ${kind}'s state by name.`, input: GetRequest, destructive: false, readOnly: true, method: (h) => (args: GetRequest) => h.get(args.name) },
    {
      operation: "list",
      description: `List ${kind}s.`,
      input: ListRequest,
      destructive: false,
      readOnly: true,
      method: (h) => async (args: ListRequest) => {
        checkListFilter(args.filter);
        return applyListFilter(await h.list(args.filter), args.filter);
      },
    },
    {
      operation: "delete",
      description: `Delete a ${kind}. NOT_FOUND when it does not exist.`,
      input: DeleteRequest,
      destructive: true,
      readOnly: false,
      method: (h) => async (args: DeleteRequest) => {
        await h.delete(args.name, args.force ?? false);
        return undefined;
      },
    },
  ];
}

const vmPowerSpecs: OperationSpec<VMHandlers>[] = [
  {
    operation: "start",
    description: "Power a stopped VM on and (waitReady, default) wait for its readiness checks again. A running VM is left as it is.",
    input: VMStartRequest,
    destructive: false,
    readOnly: false,
    idempotent: true,
    method: (h) => h.start?.bind(h),
  },
  {
    operation: "stop",
    description: "Power a VM off, keeping its disks: ACPI shutdown, then forced after timeoutSeconds (force: at once). The answer's stopMethod says which.",
    input: VMStopRequest,
    destructive: false,
    readOnly: false,
    idempotent: true,
    method: (h) => h.stop?.bind(h),
  },
];

const toolTable: Record<string, ToolDefinition> = {
  provider_capabilities: {
    description: "Return the resource kinds and operations this provider supports.",
    input: z.strictObject({}),
    destructive: false,
    readOnly: true,
    idempotent: true,
    run: (impl) => Promise.resolve(impl.capabilities()),
  },
  ...operationTools("key", (impl) => impl.keys, crudSpecs("key", KeyCreateRequest)),
  ...operationTools("network", (impl) => impl.networks, crudSpecs("network", NetworkCreateRequest)),
  ...operationTools("vm", (impl) => impl.vms, [...crudSpecs<VMCreateRequest, VMState>("vm", VMCreateRequest), ...vmPowerSpecs]),
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

/** A core tool, a machine tool when the implementation serves them, or a snapshot tool (NOT_IMPLEMENTED without). */
function toolFor(impl: ProviderImplementation, name: string): ToolDefinition | undefined {
  if (isMachineTool(name)) {
    const machines = impl.machines;
    if (machines === undefined) return undefined;
    const tool = MACHINE_TOOL_DEFINITIONS[name];
    return { ...tool, run: (_impl, args) => tool.run(machines, args) };
  }
  if (isSnapshotTool(name)) {
    const snapshots = impl.snapshots;
    const tool = SNAPSHOT_TOOL_DEFINITIONS[name];
    const refuse = async (): Promise<never> => {
      throw snapshotsNotImplemented(name, await impl.snapshotsUnavailable?.());
    };
    return { ...tool, run: (_impl, args) => (snapshots === undefined ? refuse() : tool.run(snapshots, args)) };
  }
  return Object.hasOwn(TOOL_DEFINITIONS, name) ? TOOL_DEFINITIONS[name as ProviderToolName] : undefined;
}

type ListedTool = Pick<ToolDefinition, "description" | "input" | "destructive" | "readOnly" | "idempotent">;

function listedTools(impl: ProviderImplementation): [string, ListedTool][] {
  return [...Object.entries(TOOL_DEFINITIONS), ...(impl.machines === undefined ? [] : Object.entries(MACHINE_TOOL_DEFINITIONS))];
}

export async function callTool(impl: ProviderImplementation, name: string, rawArgs: unknown, context: ProviderContext): Promise<OperationResult> {
  const tool = toolFor(impl, name) ?? optionalTool(name);
  if (!tool) {
    return failure(new ProviderError("NOT_IMPLEMENTED", `unknown tool "${name}"; see tools/list`));
  }
  if (context.inspectOnly === true && isChange(tool)) {
    return failure(new ProviderError("NOT_IMPLEMENTED", `${name} is refused: this provider process runs in inspect mode (doctor, plan) and changes nothing`));
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

/** A tool that is not read-only: of the 15, and provider_reclaim among the optional ones. */
function isChange(tool: Pick<ToolDefinition, "input" | "run"> & { readOnly?: boolean }): boolean {
  return tool.readOnly === false;
}

/** The optional tools are served like the others but not listed: tools/list keeps the protocol's 15. */
function optionalTool(name: string): Pick<ToolDefinition, "input" | "run" | "readOnly"> | undefined {
  return Object.hasOwn(OPTIONAL_TOOL_DEFINITIONS, name) ? OPTIONAL_TOOL_DEFINITIONS[name as keyof typeof OPTIONAL_TOOL_DEFINITIONS] : undefined;
}

function failure(error: unknown): OperationResult {
  if (error instanceof ProviderError) return { success: false, error: error.toOperationError() };
  const message = error instanceof Error ? error.message : String(error);
  return { success: false, error: { code: "PROVIDER_ERROR", message, retryable: false } };
}

export function createProviderServer(impl: ProviderImplementation, info: { name: string; version: string }, context: ProviderContext): ProviderServer {
  const server = new Server(info, { capabilities: { tools: {}, logging: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: listedTools(impl).map(([name, tool]) => ({
      name,
      description: tool.description,
      inputSchema: z.toJSONSchema(tool.input, { io: "input", unrepresentable: "any" }) as { type: "object" },
      annotations: { destructiveHint: tool.destructive, readOnlyHint: tool.readOnly, idempotentHint: tool.idempotent },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) =>
    encodeResult(await callTool(impl, request.params.name, request.params.arguments, context)),
  );
  return server;
}
