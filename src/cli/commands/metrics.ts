import { join } from "node:path";
import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { table, writeJson } from "../output.js";
import { formatDuration, projectFolder } from "../project.js";

export const metricsCommand: CommandDefinition = {
  name: "metrics",
  summary: "project folder: how long each verb took (from .testenv-vm/metrics.jsonl)",
  usage: "testenv-vm metrics [--dir folder] [--json]",
  flags: PROJECT_FLAGS,
  async run(context) {
    rejectPositionals(context.args, "metrics");
    const { readMetrics, summarizeMetrics } = await import("../../project/metrics.js");
    const { PROJECT_DIR } = await import("../../project/layout.js");
    const rows = summarizeMetrics(await readMetrics(join(projectFolder(context), PROJECT_DIR, "metrics.jsonl")));
    if (booleanFlag(context.args.flags, "json")) {
      writeJson(context, rows);
      return EXIT.ok;
    }
    if (rows.length === 0) {
      context.stdout.write("no metrics yet: run testenv-vm up\n");
      return EXIT.ok;
    }
    const lines = [["VERB", "RUNS", "FAILED", "MEDIAN", "LAST", "STEPS (median)"]];
    for (const row of rows) {
      const steps = Object.entries(row.steps).map(([step, ms]) => `${step} ${formatDuration(ms)}`).join(", ");
      lines.push([row.verb, String(row.runs), String(row.failed), formatDuration(row.medianMs), formatDuration(row.lastMs), steps]);
    }
    context.stdout.write(`${table(lines)}\n`);
    return EXIT.ok;
  },
};
