import { booleanFlag, rejectPositionals, requireID } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, STATE_DIR_FLAGS } from "../flags.js";
import { commandLine, writeJson } from "../output.js";
import { progressFor } from "../progress.js";
import type { DeleteResult } from "../../orchestrator/orchestrator.js";
import { specProviders } from "./doctor.js";

/** "Gone" is only as good as where we looked: name it, so a wrong state dir is not mistaken for a clean host. */
function goneMessage(testID: string, searched: readonly string[]): string {
  const where = searched.length === 0 ? "" : `: no state file for it in ${searched.join(", ")}`;
  return (
    `Environment ${testID} was already gone${where}. If it was created with another state dir, run: ${commandLine(["testenv-vm", "delete", "--id", testID])} --state-dir <dir>\n` +
    `To find what it may have left behind without a state file: ${commandLine(["testenv-vm", "gc", "--id", testID])} (add --apply to remove it)\n`
  );
}

function forcedMessage(testID: string, forced: NonNullable<DeleteResult["forced"]>): string {
  const removed = forced.gc.objects.filter((o) => o.removed === true).map((o) => `  ${o.kind} ${o.name} (${o.provider})`);
  return (
    `The state of ${testID} could not be read: ${forced.reason}\n` +
    `--force: gc removed ${removed.length} object(s) recorded as ${testID}'s${removed.length > 0 ? `:\n${removed.join("\n")}` : ""}\n` +
    `The unreadable state file was kept as ${forced.stateFileMovedTo}\n`
  );
}

function forgottenMessage(testID: string, result: DeleteResult): string {
  const lines = (result.forgotten ?? []).map((r) => `  ${r.kind} ${r.name} (${r.providerName}) on ${r.where}`);
  return (
    `Deleted environment ${testID}: ${result.deleted} resource(s); --force forgot ${lines.length} that could not be reached, which may remain there:\n` +
    `${lines.join("\n")}\n`
  );
}

export const deleteCommand: CommandDefinition = {
  name: "delete",
  summary: "delete an environment from its state file (no spec needed)",
  usage:
    "testenv-vm delete --id <testID> [--state-dir dir | --spec forge.yaml] [--force] [--json]\n" +
    "  --force: when the state file is corrupt, remove what the providers record as the environment's (gc --id) instead;\n" +
    "           when a provider or its host cannot be reached, forget its resources and name what may remain there",
  flags: ["id", ...STATE_DIR_FLAGS, "force", ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "delete");
    const testID = requireID(context.args, "delete");
    const onProgress = progressFor(context);
    const engine = await openEngine(context, { stateDirFromSpecFile: true });
    const force = booleanFlag(context.args.flags, "force");
    const providers = force ? await specProviders(context) : undefined;
    const result = await engine.delete({ testID, metadata: null }, { ...(onProgress ? { onProgress } : {}), ...(force ? { force, forgetUnreachable: true } : {}), ...(providers ? { providers } : {}) });
    if (booleanFlag(context.args.flags, "json")) writeJson(context, { testID, ...result });
    else if (result.forced) context.stdout.write(forcedMessage(testID, result.forced));
    else if (result.forgotten) context.stdout.write(forgottenMessage(testID, result));
    else context.stdout.write(result.alreadyGone ? goneMessage(testID, result.searched ?? []) : `Deleted environment ${testID}: ${result.deleted} resource(s)\n`);
    return EXIT.ok;
  },
};
