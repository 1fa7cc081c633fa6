import type { StateSummary } from "../../orchestrator/summary.js";
import { booleanFlag, rejectPositionals, requireID, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { table, writeJson } from "../output.js";
import { hasEnvFile, openProject } from "../project.js";

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

async function projectStatus(context: CommandContext): Promise<ExitCode> {
  const { instance } = await openProject(context);
  const status = await instance.status();
  if (booleanFlag(context.args.flags, "json")) {
    writeJson(context, status);
    return EXIT.ok;
  }
  const provision = status.provision
    ? status.provision.status === "ok"
      ? `provisioned (${status.provision.kind}, ${status.provision.at})`
      : `provision failed at ${status.provision.step ?? "?"}: ${status.provision.error ?? ""} (testenv-vm provision retries)`
    : undefined;
  const lines = [
    `${status.instance}: ${status.status}`,
    ...(status.ip ? [`  ip        ${status.ip}`] : []),
    ...(status.ssh ? [`  ssh       ${status.ssh}`] : []),
    ...(provision ? [`  provision ${provision}`] : []),
  ];
  context.stdout.write(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

export const statusCommand: CommandDefinition = {
  name: "status",
  summary: "show an environment and the state of each resource",
  usage: "testenv-vm status --id <testID> [--state-dir dir | --spec forge.yaml] [--json]\n       testenv-vm status [--dir folder] [--json]   (a project folder with a .env: running, stopped or absent, read live)",
  flags: ["id", "dir", ...STATE_DIR_FLAGS, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "status");
    if (stringFlag(context.args.flags, "id") === undefined && hasEnvFile(context)) return projectStatus(context);
    const testID = requireID(context.args, "status");
    const state = await (await openEngine(context, { stateDirFromSpecFile: true })).status(testID);
    const { summarizeState } = await import("../../orchestrator/summary.js");
    const summary = summarizeState(state);
    if (booleanFlag(context.args.flags, "json")) writeJson(context, summary);
    else context.stdout.write(formatStatus(summary));
    return EXIT.ok;
  },
};
