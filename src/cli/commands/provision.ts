import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { openProject } from "../project.js";

export const provisionCommand: CommandDefinition = {
  name: "provision",
  summary: "project folder: run PROVISION_SCRIPT against the running instance again",
  usage: "testenv-vm provision [--dir folder] [--json]",
  flags: PROJECT_FLAGS,
  async run(context) {
    rejectPositionals(context.args, "provision");
    const { instance } = await openProject(context);
    const result = await instance.provision();
    if (booleanFlag(context.args.flags, "json")) writeJson(context, result);
    else context.stdout.write(`${result.instance}: provisioning ${result.provision?.status ?? "done"}\n`);
    return EXIT.ok;
  },
};
