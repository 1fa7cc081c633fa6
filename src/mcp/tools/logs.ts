import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { EnvironmentState } from "../../../api/state.js";
import { tailConsoleFile } from "../console-log.js";
import type { ToolDefinition } from "../tool.js";
import { LogsInput, LogsOutput, parseLogsArgs, type LogsInput as LogsArgs } from "../vm-inputs.js";

// An environment's own log files, kept in its artifact dir for as long as it exists: testenv-vm.log (the
// orchestrator's lines about it) and providers/<name>.log (each provider's stderr).

const LEVELS = ["debug", "info", "warn", "error"] as const;
const LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (DEBUG|INFO|WARN|ERROR)\s+\[([^\]]+)\] (.*)$/;
/** Lines read from the end of each file before filtering. */
const SCAN_LINES = 50_000;

interface Entry {
  source: string;
  time?: string;
  level: string;
  namespace?: string;
  message: string;
}

function parse(source: string, line: string): Entry {
  const match = LINE.exec(line);
  if (!match) return { source, level: "info", message: line };
  const [, time = "", level = "INFO", namespace = "", message = ""] = match;
  return { source, time, level: level.toLowerCase(), namespace, message };
}

async function logFiles(state: EnvironmentState, source: LogsArgs["source"]): Promise<{ source: string; path: string }[]> {
  const files: { source: string; path: string }[] = [];
  if (source !== "providers") files.push({ source: "orchestrator", path: join(state.artifactDir, "testenv-vm.log") });
  if (source !== "orchestrator") {
    const names = await readdir(join(state.artifactDir, "providers")).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith(".log")).sort()) files.push({ source: `provider:${name.slice(0, -4)}`, path: join(state.artifactDir, "providers", name) });
  }
  return files;
}

/** The words that name a resource in log lines: its spec name and its provider name. */
function resourceWords(state: EnvironmentState, resource: string): string[] {
  const records = [...Object.values(state.resources.keys), ...Object.values(state.resources.networks), ...Object.values(state.resources.vms)];
  return [resource, ...records.filter((r) => r.name === resource).map((r) => r.providerName)];
}

export const logsTool: ToolDefinition = {
  name: "logs",
  title: "Read an environment's logs",
  description:
    "The orchestrator's and the providers' log lines for one environment (from its artifact dir), oldest first, filtered by lowest " +
    "level, by resource (its spec or provider name appears in the line) and by source. Lines that are not in the log format count as info.",
  input: LogsInput,
  output: LogsOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Logs failed",
  async handler(args, { sessions }) {
    const input = parseLogsArgs(args);
    const state = await sessions.state(input.testID);
    const lowest = LEVELS.indexOf(input.level ?? "info");
    const words = input.resource === undefined ? undefined : resourceWords(state, input.resource);
    const files = await logFiles(state, input.source);
    const read: string[] = [];
    const entries: { entry: Entry; at: string }[] = [];
    for (const file of files) {
      const tail = await tailConsoleFile(file.path, SCAN_LINES, undefined).catch(() => undefined);
      if (!tail) continue;
      read.push(file.path);
      // A line without a time (a provider's raw stderr) sorts with the last timed line before it.
      let at = "";
      for (const line of tail.lines) {
        if (line.trim() === "") continue;
        const entry = parse(file.source, line);
        at = entry.time ?? at;
        if (LEVELS.indexOf(entry.level as (typeof LEVELS)[number]) < lowest) continue;
        if (words && !words.some((word) => entry.message.includes(word))) continue;
        entries.push({ entry, at });
      }
    }
    entries.sort((a, b) => a.at.localeCompare(b.at));
    const count = input.lines ?? 200;
    const shown = entries.slice(-count).map(({ entry }) => entry);
    const text = shown.map((e) => `${e.time ?? ""} ${e.level.toUpperCase()} [${e.source}] ${e.message}`.trim());
    return {
      content: [{ type: "text", text: [`${shown.length} log line(s) of ${input.testID}${entries.length > shown.length ? ` (last ${count} of ${entries.length})` : ""}`, ...text].join("\n") }],
      structuredContent: { testID: input.testID, entries: shown, truncated: entries.length > shown.length, files: read },
    };
  },
};
