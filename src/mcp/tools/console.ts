import { VMState } from "../../../api/provider.js";
import { TestenvError } from "../../errors.js";
import { isConsolePath, tailConsoleFile, tailConsoleText, type ConsoleTail } from "../console-log.js";
import type { ToolContext, ToolDefinition } from "../tool.js";

type ConsoleAccess = Pick<ToolContext, "sessions" | "engine">;

export interface ConsoleRead extends ConsoleTail {
  source: string;
}

/** The tail of a VM's console, wherever its provider keeps it (also served as an MCP resource). */
export async function readConsole(access: ConsoleAccess, testID: string, vm: string, count: number, since?: number): Promise<ConsoleRead> {
  const consoleOutput = await findConsole(access, testID, vm);
  if (!isConsolePath(consoleOutput)) return { source: "provider state", ...tailConsoleText(consoleOutput, count) };
  const tail = await tailConsoleFile(consoleOutput, count, since).catch((error: unknown) => {
    throw new TestenvError("NOT_FOUND", `console log ${consoleOutput} of vm "${vm}" cannot be read: ${(error as Error).message}`, { cause: error });
  });
  return { source: consoleOutput, ...tail };
}
import { ConsoleInput, ConsoleOutput, LIMITS, parseConsoleArgs } from "../vm-inputs.js";

function recordedConsole(state: unknown): string | undefined {
  const parsed = VMState.safeParse(state);
  return parsed.success && parsed.data.consoleOutput ? parsed.data.consoleOutput : undefined;
}

/**
 * The console as recorded in the state file, else as the provider reports it now: a VM whose create failed
 * (readiness timed out, kept with keepOnFailure) has no recorded state, but its provider still knows its log.
 */
async function findConsole({ sessions, engine }: ConsoleAccess, testID: string, vm: string): Promise<string> {
  const state = await sessions.state(testID);
  const record = state.resources.vms[vm];
  if (!record || record.status === "destroyed") {
    const known = Object.values(state.resources.vms).filter((r) => r.status !== "destroyed").map((r) => r.name);
    throw new TestenvError("NOT_FOUND", `vm "${vm}" is not part of environment ${testID} (known: ${known.join(", ") || "none"})`, {
      issues: [{ field: "vm", message: "not a VM of this environment" }],
    });
  }
  const recorded = recordedConsole(record.state);
  if (recorded !== undefined) return recorded;
  const live = await engine.vmLive(testID, vm, { stateDir: sessions.stateDir });
  const reported = recordedConsole(live.state);
  if (reported !== undefined) return reported;
  throw new TestenvError(
    "NOT_FOUND",
    `provider ${record.provider} keeps no console log for vm "${vm}" of ${testID}${live.status === "missing" ? " (the provider no longer has the VM)" : ""}`,
    { details: { vm, provider: record.provider } },
  );
}

export const consoleTool: ToolDefinition = {
  name: "console",
  title: "Read a VM's serial console",
  description:
    "The last lines of a VM's serial console log (escape sequences removed): what to look at when readiness timed out or SSH does " +
    "not answer. Works for a VM whose create failed if the environment was kept (keepOnFailure). Pass the answer's offset as since " +
    "to get only what was written after it.",
  input: ConsoleInput,
  output: ConsoleOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Console failed",
  async handler(args, context) {
    const input = parseConsoleArgs(args);
    const count = input.lines ?? LIMITS.defaultConsoleLines;
    const { source, ...tail } = await readConsole(context, input.testID, input.vm, count, input.since);
    const header = `Console of ${input.vm} (${source}): ${tail.lines.length} line(s)${tail.truncated ? ", older lines left out" : ""}`;
    return {
      content: [{ type: "text", text: [header, ...tail.lines].join("\n") }],
      structuredContent: { vm: input.vm, source, ...tail },
    };
  },
};
