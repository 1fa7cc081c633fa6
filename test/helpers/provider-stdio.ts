import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { appendFileSync } from "node:fs";

// A provider binary over real stdio with the official MCP SDK client, as the orchestrator drives it.

export interface ProviderProcess extends AsyncDisposable {
  pid: number;
  stderr(): string;
  call(tool: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<{ success: boolean; error?: { code: string; message: string; retryable: boolean }; resource?: unknown }>;
  raw(tool: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface ProviderCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** When set, the process's stderr is appended to this file on close. */
  logFile?: string | undefined;
  clientName: string;
}

export async function startProviderProcess(options: ProviderCommand): Promise<ProviderProcess> {
  const transport = new StdioClientTransport({ command: options.command, args: options.args, env: options.env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const client = new Client({ name: options.clientName, version: "0.0.0" });
  await client.connect(transport);
  const pid = transport.pid ?? -1;
  const raw = async (tool: string, args: Record<string, unknown> = {}, timeoutMs = 300_000) =>
    (await client.callTool({ name: tool, arguments: args }, CallToolResultSchema, { timeout: timeoutMs })) as CallToolResult;
  const close = async () => {
    await client.close();
    if (options.logFile !== undefined) appendFileSync(options.logFile, stderr);
  };
  return {
    pid,
    stderr: () => stderr,
    raw: (tool, args) => raw(tool, args),
    call: async (tool, args = {}, timeoutMs = 300_000) => {
      const result = await raw(tool, args, timeoutMs);
      const first = result.content[0];
      return JSON.parse(first?.type === "text" ? first.text : "{}") as Awaited<ReturnType<ProviderProcess["call"]>>;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
