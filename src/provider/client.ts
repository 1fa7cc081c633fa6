import { statSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import {
  CapabilitiesResponse,
  VMStopRequest,
  type MachineToolName,
  type Operation,
  type OperationResult,
  type OptionalProviderToolName,
  type ProviderToolName,
} from "../../api/provider.js";
import type { SnapshotToolName } from "../../api/snapshot.js";
import type { ResourceKind } from "../../api/spec.js";
import { TestenvError, errorMessage } from "../errors.js";
import type { Logger } from "../../lib/log.js";
import { decodeToolResult, failure } from "./decode.js";
import { providerEnvironment } from "./env.js";
import { packageVersion } from "../../lib/package.js";
import { resolveEngine } from "./resolve.js";
import { StderrSink } from "./stderr-sink.js";
import { ChildProcessTransport, type ExitInfo } from "./transport.js";

export interface ProviderClientOptions {
  /** ProviderConfig.name. */
  name: string;
  /** ProviderConfig.engine. */
  engine: string;
  /** ProviderConfig.spec, passed as TESTENV_VM_PROVIDER_CONFIG. */
  config?: Record<string, unknown>;
  /** Added to the allowlisted environment (e.g. TESTENV_VM_NAME_PREFIX). */
  env?: Record<string, string>;
  /** The environment the allowlist is taken from and the engine is resolved in; default process.env. */
  parentEnv?: NodeJS.ProcessEnv;
  cwd: string;
  /** Where the provider's stderr goes, usually {artifactDir}/providers/<name>.log. */
  logFile?: string;
  /** Timeout for every call, overriding the per-tool defaults. */
  callTimeoutMs?: number;
  /** Time to start and answer initialize + provider_capabilities. */
  startTimeoutMs?: number;
  /** close(): wait this long after stdin EOF, and again after SIGTERM. */
  closeGraceMs?: number;
  log?: Logger;
}

export interface SupportDetail {
  networkKind?: string;
  keyType?: string;
}

const CREATE_TIMEOUT_MS = 30 * 60_000; // VMs are slow: image copy, boot, readiness.
const OTHER_TIMEOUT_MS = 2 * 60_000;
const START_TIMEOUT_MS = 60_000;
// `go run` may download and compile the provider first.
const GO_START_TIMEOUT_MS = 10 * 60_000;
/** A provider that crashed is restarted for later calls (rollback needs it), at most this many times. */
export const MAX_PROVIDER_RESTARTS = 3;

/**
 * vm_start waits for readiness again, as long as a create may; vm_stop gets its own shutdown timeout
 * (VMStopRequest.timeoutSeconds, default 60 s) on top of the usual allowance.
 */
export function defaultCallTimeoutMs(tool: ProviderToolName | MachineToolName | OptionalProviderToolName | SnapshotToolName, args?: unknown): number {
  // machine_sync may create disks and (with restart) shut VMs down and start them again.
  if (tool.endsWith("_create") || tool === "vm_start" || tool === "machine_sync") return CREATE_TIMEOUT_MS;
  // A save writes the guest's memory out; a restore reads it back and waits for readiness, as vm_start does.
  if (tool === "vm_snapshot_save" || tool === "vm_snapshot_restore") return CREATE_TIMEOUT_MS;
  if (tool === "vm_stop" || tool === "machine_power") {
    // Invalid arguments are refused at once by the provider: then only the allowance matters.
    const seconds = VMStopRequest.shape.timeoutSeconds.safeParse((args as { timeoutSeconds?: unknown } | undefined)?.timeoutSeconds).data ?? 0;
    return seconds * 1000 + OTHER_TIMEOUT_MS;
  }
  return OTHER_TIMEOUT_MS;
}

function describeExit(exit: ExitInfo): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  if (exit.code !== null) return `exited with code ${exit.code}`;
  return "could not be started";
}

/** One running provider process and the MCP session over its stdio. */
interface Session {
  client: Client;
  transport: ChildProcessTransport;
  capabilities: CapabilitiesResponse;
}

interface Launch {
  options: ProviderClientOptions;
  command: string;
  args: string[];
  env: Record<string, string>;
  stderr: StderrSink;
}

/** Spawns the process, completes the MCP handshake and fetches capabilities; on failure the process is gone. */
async function openSession(launch: Launch): Promise<Session> {
  const { options, stderr } = launch;
  const transport = new ChildProcessTransport({
    command: launch.command,
    args: launch.args,
    cwd: options.cwd,
    env: launch.env,
    onStderr: (chunk) => stderr.write(chunk),
    ...(options.closeGraceMs !== undefined ? { graceMs: options.closeGraceMs } : {}),
  });
  const client = new Client({ name: "testenv-vm", version: packageVersion() }, { capabilities: {} });
  client.onerror = (error) => options.log?.warn(`provider "${options.name}": ${error.message}`);
  const startTimeout = options.startTimeoutMs ?? (options.engine.trim().startsWith("go://") ? GO_START_TIMEOUT_MS : START_TIMEOUT_MS);
  const fail = async (stage: string, error: unknown): Promise<never> => {
    await transport.close();
    throw startFailure(options, launch.command, stage, errorMessage(error), transport.exit, stderr.tail());
  };

  try {
    await client.connect(transport, { timeout: startTimeout });
  } catch (error) {
    return fail("MCP initialization failed", error);
  }
  try {
    const raw = await client.request({ method: "tools/call", params: { name: "provider_capabilities", arguments: {} } }, CallToolResultSchema, {
      timeout: startTimeout,
    });
    const result = decodeToolResult(raw);
    if (!result.success) throw new Error(`${result.error?.code}: ${result.error?.message}`);
    const parsed = CapabilitiesResponse.safeParse(result.resource);
    if (!parsed.success) throw new Error(`invalid capabilities: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    options.log?.debug(`provider "${options.name}" started`, { pid: transport.pid, providerName: parsed.data.providerName, version: parsed.data.version });
    return { client, transport, capabilities: parsed.data };
  } catch (error) {
    return fail("failed to fetch capabilities", error);
  }
}

/** One provider process, spoken to over MCP on stdio. */
export class ProviderClient {
  readonly name: string;
  readonly engine: string;
  capabilities: CapabilitiesResponse;

  private readonly launch: Launch;
  private session: Session;
  private readonly stderr: StderrSink;
  private readonly callTimeoutMs: number | undefined;
  private readonly exitListeners: Array<(code: number | null, signal: string | null) => void> = [];
  private restarts = 0;
  private restarting: Promise<boolean> | undefined;
  private closing: Promise<void> | undefined;

  private constructor(launch: Launch, session: Session) {
    this.name = launch.options.name;
    this.engine = launch.options.engine;
    this.callTimeoutMs = launch.options.callTimeoutMs;
    this.launch = launch;
    this.stderr = launch.stderr;
    this.session = session;
    this.capabilities = session.capabilities;
    this.watch(session);
  }

  /** The pid of the current provider process. */
  get pid(): number | undefined {
    return this.session.transport.pid;
  }

  /** The last ~4 KiB the provider wrote to stderr. */
  stderrTail(): string {
    return this.stderr.tail();
  }

  /** Spawns the provider, completes the MCP handshake and fetches its capabilities. */
  static async start(options: ProviderClientOptions): Promise<ProviderClient> {
    if (!isDirectory(options.cwd)) {
      throw new TestenvError("PROVIDER_SPAWN_FAILED", `cannot start provider "${options.name}": working directory ${options.cwd} does not exist`, {
        details: { provider: options.name, cwd: options.cwd },
      });
    }
    const parentEnv = options.parentEnv ?? process.env;
    const resolved = resolveEngine(options.engine, { cwd: options.cwd, env: { ...parentEnv, ...options.env } });
    const stderr = new StderrSink({ ...(options.logFile !== undefined ? { logFile: options.logFile } : {}), ...(options.log ? { log: options.log } : {}) });
    const env = providerEnvironment(parentEnv, {
      ...options.env,
      TESTENV_VM_PROVIDER_CONFIG: JSON.stringify(options.config ?? {}),
      TESTENV_VM_PROVIDER_NAME: options.name,
    });
    const launch: Launch = { options, command: resolved.command, args: resolved.args, env, stderr };
    try {
      return new ProviderClient(launch, await openSession(launch));
    } catch (error) {
      await stderr.close();
      throw error;
    }
  }

  private watch(session: Session): void {
    session.transport.onExit((exit) => {
      for (const listener of this.exitListeners) listener(exit.code, exit.signal);
      if (this.closing !== undefined) return;
      const tail = this.stderr.tail();
      this.launch.options.log?.warn(`provider "${this.name}" ${describeExit(exit)} unexpectedly${tail === "" ? "" : `; stderr tail:\n${tail}`}`);
    });
  }

  /** After a crash, starts a fresh process so that later calls (rollback, delete) can still be served. */
  private restart(): Promise<boolean> {
    this.restarting ??= (async () => {
      if (this.restarts >= MAX_PROVIDER_RESTARTS || this.closing !== undefined) return false;
      this.restarts += 1;
      this.launch.options.log?.warn(`restarting provider "${this.name}" (restart ${this.restarts} of ${MAX_PROVIDER_RESTARTS})`);
      try {
        const session = await openSession(this.launch);
        this.session = session;
        this.capabilities = session.capabilities;
        this.watch(session);
        return true;
      } catch (error) {
        this.launch.options.log?.warn(`provider "${this.name}" could not be restarted: ${errorMessage(error)}`);
        return false;
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /**
   * Calls one tool. Provider-side failures, timeouts and crashes come back as `success: false`
   * with a code; this never throws for them. A call made after the process crashed restarts it first.
   */
  async call(tool: ProviderToolName | MachineToolName | OptionalProviderToolName | SnapshotToolName, args: unknown, options: { timeoutMs?: number } = {}): Promise<OperationResult> {
    const timeoutMs = options.timeoutMs ?? this.callTimeoutMs ?? defaultCallTimeoutMs(tool, args);
    if (this.closing !== undefined) return failure("PROVIDER_ERROR", `provider "${this.name}" is closed; ${tool} was not sent`);
    if (this.session.transport.exit !== undefined && !(await this.restart())) {
      return this.crashed(this.session, tool, `and could not be restarted (${this.restarts} restarts); ${tool} was not sent`);
    }
    const session = this.session;
    const params = args === undefined ? { name: tool } : { name: tool, arguments: args as Record<string, unknown> };
    try {
      const raw = await session.client.request({ method: "tools/call", params }, CallToolResultSchema, { timeout: timeoutMs });
      return decodeToolResult(raw);
    } catch (error) {
      if (error instanceof McpError && error.code === (ErrorCode.RequestTimeout as number)) {
        return failure(
          "TIMEOUT",
          `provider "${this.name}" did not answer ${tool} within ${timeoutMs} ms; the operation may still complete on the provider side — raise the timeout or check ${this.name}'s log`,
          { tool, provider: this.name, timeoutMs },
        );
      }
      if (session.transport.exit !== undefined || (error instanceof McpError && error.code === (ErrorCode.ConnectionClosed as number))) {
        await Promise.race([session.transport.exited, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
        if (session.transport.exit !== undefined) return this.crashed(session, tool, `during ${tool}`);
      }
      return failure("PROVIDER_ERROR", `provider "${this.name}" ${tool}: ${errorMessage(error)}`, { tool, provider: this.name });
    }
  }

  private crashed(session: Session, tool: ProviderToolName | MachineToolName | OptionalProviderToolName | SnapshotToolName, when: string): OperationResult {
    const exit = session.transport.exit ?? { code: null, signal: null };
    const tail = this.stderr.tail();
    return failure(
      "PROVIDER_ERROR",
      `provider "${this.name}" (${this.engine}) ${describeExit(exit)} ${when}${tail === "" ? "; it wrote nothing to stderr" : `; stderr tail:\n${tail}`}`,
      { tool, provider: this.name, exitCode: exit.code, signal: exit.signal },
    );
  }

  /** Whether the provider declares `operation` on `kind` (and the network kind / key type, when it lists them). */
  supports(kind: ResourceKind, operation: Operation, detail: SupportDetail = {}): boolean {
    return supportsIn(this.capabilities, kind, operation, detail);
  }

  /** stdin EOF, wait, SIGTERM, wait, SIGKILL. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A restart in progress finishes first, so its process is the one closed.
      await this.restarting;
      try {
        await this.session.client.close();
      } finally {
        await this.session.transport.close();
        await this.stderr.close();
      }
    })();
    return this.closing;
  }

  /** Called each time a provider process of this client exits (restarts included). */
  onExit(listener: (code: number | null, signal: string | null) => void): void {
    this.exitListeners.push(listener);
    const exit = this.session.transport.exit;
    if (exit !== undefined) listener(exit.code, exit.signal);
  }
}

export function supportsIn(capabilities: CapabilitiesResponse, kind: ResourceKind, operation: Operation, detail: SupportDetail = {}): boolean {
  const resource = capabilities.resources.find((r) => r.kind === kind);
  if (resource === undefined || !resource.operations.includes(operation)) return false;
  // Providers written for the original list only kind + operations: no list means "not declared", not "none".
  if (detail.networkKind !== undefined && resource.networkKinds !== undefined) {
    if (!resource.networkKinds.some((k) => k.toLowerCase() === detail.networkKind?.toLowerCase())) return false;
  }
  if (detail.keyType !== undefined && resource.keyTypes !== undefined) {
    if (!resource.keyTypes.some((t) => t.toLowerCase() === detail.keyType?.toLowerCase())) return false;
  }
  return true;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function startFailure(
  options: ProviderClientOptions,
  command: string,
  stage: string,
  reason: string,
  exit: ExitInfo | undefined,
  tail: string,
): TestenvError {
  const exitText = exit === undefined ? "" : `; the process ${describeExit(exit)}`;
  const tailText = tail === "" ? "" : `; stderr tail:\n${tail}`;
  return new TestenvError(
    "PROVIDER_SPAWN_FAILED",
    `failed to start provider "${options.name}" (engine ${options.engine}): ${stage}: ${reason}${exitText}${tailText}`,
    { details: { provider: options.name, engine: options.engine, command, exitCode: exit?.code, signal: exit?.signal, stderrTail: tail } },
  );
}
