import type { GcObject, GcReport } from "../../orchestrator/orchestrator.js";
import { UsageError, booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import type { Flag } from "../flags.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { commandLine, indent, table, writeJson } from "../output.js";
import { specProviders } from "./doctor.js";

const OLDER_THAN: Flag = { name: "older-than", value: true, placeholder: "duration", description: "gc: only objects older than this, e.g. 30s, 10m, 1h, or 0 (default 10m)" };
const APPLY: Flag = { name: "apply", value: false, description: "gc: remove the orphans (without it gc only lists them)" };

function olderThanMs(context: CommandContext, parseDurationMs: (text: string) => number | undefined): number | undefined {
  const text = stringFlag(context.args.flags, OLDER_THAN);
  if (text === undefined) return undefined;
  const ms = text === "0" ? 0 : parseDurationMs(text);
  if (ms === undefined) throw new UsageError(`--older-than must be a duration such as 30s, 10m or 1h, or 0; got "${text.slice(0, 80)}"`);
  return ms;
}

const age = (object: GcObject): string => (object.ageMs === undefined ? "?" : object.ageMs < 120_000 ? `${Math.round(object.ageMs / 1000)}s` : `${Math.round(object.ageMs / 60_000)}m`);

function outcome(object: GcObject): string {
  if (object.removed === true) return "removed";
  if (object.error !== undefined) return "FAILED";
  return object.verdict;
}

export function formatGc(report: GcReport): string {
  const lines: string[] = [];
  if (report.objects.length === 0) lines.push("No objects of testenv-vm found");
  else {
    const rows = [["PROVIDER", "KIND", "NAME", "TEST ID", "AGE", "VERDICT"]];
    for (const o of report.objects) rows.push([o.provider, o.kind, o.name, o.testID ?? "-", age(o), outcome(o)]);
    lines.push(table(rows), "");
    for (const o of report.objects.filter((x) => x.verdict !== "live")) lines.push(`${o.kind} ${o.name}: ${o.error ?? o.reason}`);
  }
  const silent = report.providers.filter((p) => p.answer !== "ok");
  if (silent.length > 0) lines.push("", "Providers not looked at:", indent(silent.map((p) => `${p.name} (${p.engine}): ${p.answer}: ${p.error ?? ""}`).join("\n")));
  const grace = `${Math.round(report.olderThanMs / 1000)} s`;
  if (report.applied) lines.push("", `gc: ${report.removed} of ${report.orphans} orphan(s) removed${report.failed > 0 ? `, ${report.failed} FAILED` : ""} (grace ${grace})`);
  else lines.push("", `gc: ${report.orphans} orphan(s) older than ${grace}${report.orphans > 0 ? `; remove them with: ${commandLine(["testenv-vm", "gc", "--apply"])} (same options)` : ""}`);
  return `${lines.join("\n")}\n`;
}

export const gcCommand: CommandDefinition = {
  name: "gc",
  summary: "find (and with --apply remove) what environments that are gone left behind",
  usage:
    "testenv-vm gc [--older-than 10m] [--apply] [--id testID] [--state-dir dir | --spec forge.yaml] [--json]\n" +
    "  asks the spec's providers (else those recorded in the state dir, else every one found) what they made;\n" +
    "  an object is an orphan when its environment has no state file, or one marked destroyed",
  flags: ["id", OLDER_THAN, APPLY, ...STATE_DIR_FLAGS, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "gc");
    const { parseDurationMs } = await import("../../spec/index.js");
    const grace = olderThanMs(context, parseDurationMs);
    const testID = stringFlag(context.args.flags, "id");
    const providers = await specProviders(context);
    const report = await (await openEngine(context, { stateDirFromSpecFile: true })).gc({
      apply: booleanFlag(context.args.flags, APPLY),
      ...(grace !== undefined ? { olderThanMs: grace } : {}),
      ...(testID !== undefined ? { testID } : {}),
      ...(providers && providers.length > 0 ? { providers } : {}),
    });
    if (booleanFlag(context.args.flags, "json")) writeJson(context, report);
    else context.stdout.write(formatGc(report));
    return report.failed > 0 ? EXIT.failed : EXIT.ok;
  },
};
