import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { formatDuration, interruptible, openProject } from "../project.js";

export const upCommand: CommandDefinition = {
  name: "up",
  summary: "project folder: create (and provision), or start, the instance described by ./.env",
  usage: "testenv-vm up [--dir folder] [--recreate] [--keep-on-failure] [--json]",
  flags: ["recreate", "keep-on-failure", ...PROJECT_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "up");
    const { instance } = await openProject(context, interruptible(context));
    const result = await instance.up({ recreate: booleanFlag(context.args.flags, "recreate"), keepOnFailure: booleanFlag(context.args.flags, "keep-on-failure") });
    if (booleanFlag(context.args.flags, "json")) {
      writeJson(context, result);
      return EXIT.ok;
    }
    const verb = { created: "created", started: "started", "already-running": "already running" }[result.action];
    const steps = Object.entries(result.steps).map(([step, ms]) => `${step} ${formatDuration(ms)}`);
    const lines = [
      `${result.instance} ${verb} in ${formatDuration(result.durationMs)}${steps.length > 0 ? ` (${steps.join(", ")})` : ""}`,
      ...(result.ip ? [`  ip        ${result.ip}`] : []),
      ...(result.ssh ? [`  ssh       testenv-vm ssh   (or: ${result.ssh})`] : []),
      ...(result.provision ? [`  provision ${result.provision.status} (${result.provision.kind}, ${result.provision.at})`] : []),
    ];
    context.stdout.write(`${lines.join("\n")}\n`);
    return EXIT.ok;
  },
};
