import { formatIssues, isTestenvError, type Issue } from "../../errors.js";
import type { LoadedSpec } from "../../spec/load.js";
import { booleanFlag, rejectPositionals } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS } from "../flags.js";
import { indent, writeJson } from "../output.js";

/** Every problem of the spec file; one that does not load is reported through its issues, like one that does. */
async function specIssues(context: CommandContext): Promise<readonly Issue[]> {
  let loaded: LoadedSpec;
  try {
    loaded = await context.specFile.load();
  } catch (error) {
    // Not an error handler: issues (malformed YAML, schema errors) are this command's output. Anything else fails.
    if (isTestenvError(error) && error.issues.length > 0) return error.issues;
    throw error;
  }
  const output = (await openEngine(context)).validate(loaded.raw);
  return context.specFile.locate(output.errors ?? []);
}

export const validateCommand: CommandDefinition = {
  name: "validate",
  summary: "check a spec without creating anything",
  usage: "testenv-vm validate [--spec forge.yaml] [--name <entry>] [--json]",
  flags: ["spec", "name", ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "validate");
    const issues = await specIssues(context);
    const { path } = context.specFile;
    if (booleanFlag(context.args.flags, "json")) {
      writeJson(context, issues.length === 0 ? { valid: true } : { valid: false, errors: issues });
    } else if (issues.length === 0) {
      context.stdout.write(`${path}: configuration is valid\n`);
    } else {
      context.stderr.write(`${path}: configuration validation failed with ${issues.length} error(s):\n${indent(formatIssues(issues))}\n`);
    }
    return issues.length === 0 ? EXIT.ok : EXIT.invalid;
  },
};
