import type { LiveResource, LiveStatus } from "../../orchestrator/live-state.js";
import type { StateSummary } from "../../orchestrator/summary.js";
import { booleanFlag, rejectPositionals, requireID, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS, type Flag } from "../flags.js";
import { table, writeJson } from "../output.js";
import { hasProjectInstance, openProject } from "../project.js";

const RECORDED: Flag = { name: "recorded", value: false, description: "status --id: show the state file only; ask no provider for the live state" };

/** The LIVE cell of a resource: its live state, and what is off about it. */
function liveCell(resource: LiveResource | undefined): string {
  if (resource === undefined) return "";
  const conflicts = resource.conflicts ?? [];
  const notes = [...(conflicts.includes("missing") || conflicts.includes("power") ? ["differs"] : []), ...(conflicts.includes("drift") ? ["drifted"] : [])];
  return notes.length > 0 ? `${resource.live} (${notes.join(", ")})` : resource.live;
}

function liveLines(live: LiveStatus): string[] {
  if (live.inSync) return ["", `live (${live.checkedAt}): every resource matches the state file`];
  return [
    "",
    ...(live.mismatches.length > 0 ? ["state file and reality disagree:", ...live.mismatches.map((m) => `  ${m}`)] : []),
    ...(live.errors.length > 0 ? ["could not be checked:", ...live.errors.map((e) => `  ${e}`)] : []),
  ];
}

/** The status table; with `live`, a LIVE column and what disagrees with the state file. */
export function formatStatus(summary: StateSummary, live?: LiveStatus): string {
  const liveOf = (kind: string, name: string): LiveResource | undefined => live?.resources.find((r) => r.kind === kind && r.name === name);
  const head = [
    `Environment ${summary.testID}: ${summary.status}`,
    `  stage ${summary.stage}, prefix ${summary.prefix}, updated ${summary.updatedAt}`,
    `  state dir ${summary.stateDir}`,
    `  artifact dir ${summary.artifactDir}`,
    ...(summary.placements ?? []).map((p) => `  placed: provider ${p.provider} on ${p.host}: ${p.reason}`),
  ];
  const rows = [["KIND", "NAME", "PROVIDER NAME", "PROVIDER", "STATUS", ...(live ? ["LIVE"] : []), "IP"]];
  for (const r of summary.resources) {
    const current = liveOf(r.kind, r.name);
    const liveIp = typeof current?.state?.ip === "string" ? current.state.ip : undefined;
    const ip = liveIp ?? (typeof r.state?.ip === "string" ? r.state.ip : "");
    rows.push([r.kind, r.name, r.providerName, r.provider, r.status, ...(live ? [liveCell(current)] : []), ip]);
  }
  const errors = summary.errors.map((e) => `  ${e.operation} ${e.resource ? `${e.resource.kind} ${e.resource.name}` : ""}: ${e.code ? `${e.code}: ` : ""}${e.error}`);
  return `${[...head, "", table(rows), ...(live ? liveLines(live) : []), ...(errors.length > 0 ? ["", "errors:", ...errors] : [])].join("\n")}\n`;
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
  usage:
    "testenv-vm status --id <testID> [--state-dir dir | --spec forge.yaml] [--recorded] [--json]   (each resource as recorded and as its provider reports it now)\n" +
    "       testenv-vm status [--dir folder] [--json]   (a project folder with a .env: running, stopped or absent, read live)",
  flags: ["id", "dir", RECORDED, ...STATE_DIR_FLAGS, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "status");
    if (stringFlag(context.args.flags, "id") === undefined && hasProjectInstance(context)) return projectStatus(context);
    const testID = requireID(context.args, "status");
    const engine = await openEngine(context, { stateDirFromSpecFile: true });
    const state = await engine.status(testID);
    const { summarizeState } = await import("../../orchestrator/summary.js");
    const summary = summarizeState(state);
    const live = booleanFlag(context.args.flags, RECORDED) ? undefined : await engine.liveStatus(testID);
    if (booleanFlag(context.args.flags, "json")) writeJson(context, live ? { ...summary, live } : summary);
    else context.stdout.write(formatStatus(summary, live));
    return EXIT.ok;
  },
};
