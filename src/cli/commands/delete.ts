import { booleanFlag, rejectPositionals, requireID } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { commandLine, writeJson } from "../output.js";
import { progressFor } from "../progress.js";

/** "Gone" is only as good as where we looked: name it, so a wrong state dir is not mistaken for a clean host. */
function goneMessage(testID: string, searched: readonly string[]): string {
  const where = searched.length === 0 ? "" : `: no state file for it in ${searched.join(", ")}`;
  return `Environment ${testID} was already gone${where}. If it was created with another state dir, run: ${commandLine(["testenv-vm", "delete", "--id", testID])} --state-dir <dir>\n`;
}

export const deleteCommand: CommandDefinition = {
  name: "delete",
  summary: "delete an environment from its state file (no spec needed)",
  usage: "testenv-vm delete --id <testID> [--state-dir dir | --spec forge.yaml] [--json]",
  flags: ["id", ...STATE_DIR_FLAGS, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "delete");
    const testID = requireID(context.args, "delete");
    const onProgress = progressFor(context);
    const engine = await openEngine(context, { stateDirFromSpecFile: true });
    const result = await engine.delete({ testID, metadata: null }, onProgress ? { onProgress } : {});
    if (booleanFlag(context.args.flags, "json")) writeJson(context, { testID, ...result });
    else context.stdout.write(result.alreadyGone ? goneMessage(testID, result.searched ?? []) : `Deleted environment ${testID}: ${result.deleted} resource(s)\n`);
    return EXIT.ok;
  },
};
