import type { StateSummary } from "../../orchestrator/summary.js";
import { booleanFlag, rejectPositionals, requireID } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { table, writeJson } from "../output.js";

export function formatStatus(summary: StateSummary): string {
  const head = [
    `Environment ${summary.testID}: ${summary.status}`,
    `  stage ${summary.stage}, prefix ${summary.prefix}, updated ${summary.updatedAt}`,
    `  state dir ${summary.stateDir}`,
    `  artifact dir ${summary.artifactDir}`,
  ];
  const rows = [["KIND", "NAME", "PROVIDER NAME", "PROVIDER", "STATUS", "IP"]];
  for (const r of summary.resources) {
    const ip = typeof r.state?.ip === "string" ? r.state.ip : "";
    rows.push([r.kind, r.name, r.providerName, r.provider, r.status, ip]);
  }
  const errors = summary.errors.map((e) => `  ${e.operation} ${e.resource ? `${e.resource.kind} ${e.resource.name}` : ""}: ${e.code ? `${e.code}: ` : ""}${e.error}`);
  return `${[...head, "", table(rows), ...(errors.length > 0 ? ["", "errors:", ...errors] : [])].join("\n")}\n`;
}

export const statusCommand: CommandDefinition = {
  name: "status",
  summary: "show an environment and the state of each resource",
  usage: "testenv-vm status --id <testID> [--state-dir dir | --spec forge.yaml] [--json]",
  flags: ["id", ...STATE_DIR_FLAGS, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "status");
    const testID = requireID(context.args, "status");
    const state = await (await openEngine(context, { stateDirFromSpecFile: true })).status(testID);
    const { summarizeState } = await import("../../orchestrator/summary.js");
    const summary = summarizeState(state);
    if (booleanFlag(context.args.flags, "json")) writeJson(context, summary);
    else context.stdout.write(formatStatus(summary));
    return EXIT.ok;
  },
};
