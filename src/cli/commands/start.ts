import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { openProject } from "../project.js";

export const startCommand: CommandDefinition = {
  name: "start",
  summary: "project folder: start a stopped instance and wait until SSH answers",
  usage: "testenv-vm start [--dir folder] [--json]",
  flags: PROJECT_FLAGS,
  async run(context) {
    rejectPositionals(context.args, "start");
    const { instance } = await openProject(context);
    const result = await instance.start();
    if (booleanFlag(context.args.flags, "json")) writeJson(context, result);
    else context.stdout.write(`${result.instance} is ${result.status}${result.ip ? ` at ${result.ip}` : ""}\n`);
    return EXIT.ok;
  },
};
