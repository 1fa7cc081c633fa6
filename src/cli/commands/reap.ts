import { UsageError, booleanFlag, rejectPositionals, requireID, stringFlag } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import type { Flag } from "../flags.js";
import { COMMON_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";

const WATCH_PID: Flag = { name: "watch-pid", value: true, placeholder: "pid", description: "reap: the process to watch; when it dies, the environment is deleted" };
const WATCH_START: Flag = { name: "watch-start", value: true, placeholder: "ticks", description: "reap: that process's start time (/proc/<pid>/stat field 22), so a reused pid is not mistaken for it" };

/** The watcher `create --reap-on-exit` and the vitest helper start; it is started detached, not by hand. */
export const reapCommand: CommandDefinition = {
  name: "reap",
  summary: "watch a process and, when it dies, delete an environment and gc what is left of it (started by --reap-on-exit)",
  usage: "testenv-vm reap --watch-pid <pid> --watch-start <ticks> --id <testID> --state-dir <dir> [--json]",
  flags: ["id", "state-dir", WATCH_PID, WATCH_START, ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "reap");
    const testID = requireID(context.args, "reap");
    const pid = Number(stringFlag(context.args.flags, WATCH_PID));
    const startTime = stringFlag(context.args.flags, WATCH_START);
    const stateDir = stringFlag(context.args.flags, "state-dir");
    if (!Number.isInteger(pid) || pid <= 0 || startTime === undefined || stateDir === undefined) {
      throw new UsageError("reap needs --watch-pid <pid>, --watch-start <ticks> and --state-dir <dir>");
    }
    const engine = await openEngine(context);
    // SIGTERM is how the owner says "deleted normally, nothing to do".
    process.once("SIGTERM", () => process.exit(0));
    const result = await engine.reap({ testID, stateDir }, { pid, startTime });
    if (booleanFlag(context.args.flags, "json")) writeJson(context, result);
    return result.deleteError === undefined && result.gc.failed === 0 ? EXIT.ok : EXIT.failed;
  },
};
