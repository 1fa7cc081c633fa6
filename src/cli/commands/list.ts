import type { EnvironmentSummary } from "../../orchestrator/summary.js";
import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { table, writeJson } from "../output.js";

export function formatList(environments: readonly EnvironmentSummary[]): string {
  if (environments.length === 0) return "No environments\n";
  const rows = [["TEST ID", "STATUS", "RESOURCES", "STAGE", "UPDATED"]];
  for (const env of environments) rows.push([env.testID, env.status, String(env.resources.length), env.stage, env.updatedAt]);
  return `${table(rows)}\n`;
}

export const listCommand: CommandDefinition = {
  name: "list",
  summary: "list the environments in the state dir",
  usage: "testenv-vm list [--state-dir dir | --spec forge.yaml] [--json]",
  flags: [...STATE_DIR_FLAGS, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "list");
    const environments = await (await openEngine(context, { stateDirFromSpecFile: true })).list();
    if (booleanFlag(context.args.flags, "json")) writeJson(context, { environments, count: environments.length });
    else context.stdout.write(formatList(environments));
    return EXIT.ok;
  },
};
