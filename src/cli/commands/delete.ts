import { booleanFlag, rejectPositionals, requireID } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { progressFor } from "../progress.js";

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
    else context.stdout.write(result.alreadyGone ? `Environment ${testID} was already gone\n` : `Deleted environment ${testID}: ${result.deleted} resource(s)\n`);
    return EXIT.ok;
  },
};
