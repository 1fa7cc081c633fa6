import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TestenvError } from "../../errors.js";
import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandDefinition } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { projectFolder } from "../project.js";

export const initCommand: CommandDefinition = {
  name: "init",
  summary: "project folder: write a commented .env template",
  usage: "testenv-vm init [--dir folder] [--force] [--json]",
  flags: ["force", ...PROJECT_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "init");
    const path = join(projectFolder(context), ".env");
    if (existsSync(path) && !booleanFlag(context.args.flags, "force")) {
      throw new TestenvError("ALREADY_EXISTS", `${path} already exists; edit it, or pass --force to replace it with the template`, { details: { path } });
    }
    const { envTemplate } = await import("../../project/env-template.js");
    await writeFile(path, envTemplate(), { mode: 0o644 });
    if (booleanFlag(context.args.flags, "json")) writeJson(context, { path });
    else context.stdout.write(`wrote ${path}; edit it, then run testenv-vm up\n`);
    return EXIT.ok;
  },
};
