import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { openProject } from "../project.js";

export const rmCommand: CommandDefinition = {
  name: "rm",
  summary: "project folder: remove the instance, its disk, key and .testenv-vm/ (never the network it used)",
  usage: "testenv-vm rm [--dir folder] [--json]",
  flags: PROJECT_FLAGS,
  async run(context) {
    rejectPositionals(context.args, "rm");
    const { instance } = await openProject(context);
    const result = await instance.rm();
    if (booleanFlag(context.args.flags, "json")) writeJson(context, result);
    else context.stdout.write(result.removed ? `removed ${result.instance}\n` : `${result.instance} does not exist; nothing to remove\n`);
    return EXIT.ok;
  },
};
