import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { resolve } from "node:path";

/** The built orchestrator bin, exactly what Forge starts (`testenv-vm --mcp`). */
export const ORCHESTRATOR_BIN = resolve(import.meta.dirname, "../../dist/src/bin.js");

export interface OrchestratorConnection extends AsyncDisposable {
  client: Client;
  /** PID of the orchestrator process (for SIGKILL tests). */
  pid: number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  call(name: string, args?: Record<string, unknown>, options?: { onprogress?: (progress: Progress) => void; timeoutMs?: number; signal?: AbortSignal }): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** The bin to start; default ORCHESTRATOR_BIN, which is right for the sources only (a benchmark runs from dist/). */
  bin?: string;
  /** "inherit" shows the orchestrator's log as it happens (then `stderr()` stays empty); default "pipe". */
  stderr?: "pipe" | "inherit";
}

/**
 * Starts `node dist/src/bin.js --mcp` and connects the official MCP SDK client over real stdio.
 * `await using` closes it (stdin closed, then the SDK's SIGTERM/SIGKILL fallback).
 */
export async function connectOrchestrator(options: ConnectOptions = {}): Promise<OrchestratorConnection> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [options.bin ?? ORCHESTRATOR_BIN, "--mcp"],
    env: { TESTENV_VM_LOG: "warn", ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stderr: options.stderr ?? "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const client = new Client({ name: "testenv-vm-e2e", version: "0.0.0" });
  await client.connect(transport);
  const pid = transport.pid;
  if (pid === null) throw new Error("orchestrator process has no pid");
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await client.close();
  };
  return {
    client,
    pid,
    stderr: () => stderr,
    call: async (name, args = {}, callOptions = {}) => {
      try {
        return (await client.callTool({ name, arguments: args }, CallToolResultSchema, {
          timeout: callOptions.timeoutMs ?? 110_000,
          ...(callOptions.signal ? { signal: callOptions.signal } : {}),
          ...(callOptions.onprogress ? { onprogress: callOptions.onprogress, resetTimeoutOnProgress: true } : {}),
        })) as CallToolResult;
      } catch (error) {
        // A lost connection means the orchestrator died: its stderr says why.
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${name} call failed: ${message}\n--- orchestrator stderr ---\n${stderr.slice(-4000)}`, { cause: error });
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** content[0].text of a tool result (what Forge reads on failure). */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}
