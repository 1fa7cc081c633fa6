import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { openProject } from "../project.js";

export const stopCommand: CommandDefinition = {
  name: "stop",
  summary: "project folder: shut the instance down (graceful, then forced after STOP_TIMEOUT); the disk is kept",
  usage: "testenv-vm stop [--dir folder] [--json]",
  flags: PROJECT_FLAGS,
  async run(context) {
    rejectPositionals(context.args, "stop");
    const { instance } = await openProject(context);
    const result = await instance.stop();
    if (booleanFlag(context.args.flags, "json")) writeJson(context, result);
    else {
      const how = { graceful: "shut down gracefully", forced: "forced off (it did not shut down in time)", "already-stopped": "was already stopped" }[result.stopMethod] ?? result.stopMethod;
      context.stdout.write(`${result.instance} ${how}; its disk is kept (testenv-vm up starts it again)\n`);
    }
    return EXIT.ok;
  },
};
