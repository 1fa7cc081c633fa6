import { formatIssues, isTestenvError, type Issue } from "../../errors.js";
import type { LoadedSpec } from "../../spec/load.js";
import { booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS } from "../flags.js";
import { indent, writeJson } from "../output.js";
import { hasEnvFile, openProject } from "../project.js";
import { referencedEnv } from "./create.js";

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
  // The env a create with the same flags would pass: a variable it would refuse is a problem here too.
  let env: Record<string, string>;
  try {
    env = referencedEnv(loaded.raw, context.env, stringFlag(context.args.flags, "env"));
  } catch (error) {
    if (isTestenvError(error) && error.issues.length > 0) return error.issues;
    throw error;
  }
  const output = (await openEngine(context)).validate(loaded.raw, { env });
  return context.specFile.locate(output.errors ?? []);
}

/** A project folder's .env, the files it names and the spec it becomes; nothing is created. */
async function validateProject(context: CommandContext): Promise<ExitCode> {
  let issues: readonly Issue[];
  let instance: string | undefined;
  let path = "";
  try {
    const { project } = await openProject(context);
    path = project.envPath;
    instance = project.identity.name;
    const output = (await openEngine(context)).validate(project.spec);
    issues = output.errors ?? [];
  } catch (error) {
    if (!isTestenvError(error) || error.issues.length === 0) throw error;
    issues = error.issues;
    path = typeof error.details.path === "string" ? error.details.path : ".env";
  }
  if (booleanFlag(context.args.flags, "json")) {
    writeJson(context, issues.length === 0 ? { valid: true, instance } : { valid: false, errors: issues });
  } else if (issues.length === 0) {
    context.stdout.write(`${path}: valid; the instance is ${instance ?? ""}\n`);
  } else {
    context.stderr.write(`${path}: ${issues.length} problem(s), nothing was created:\n${indent(formatIssues(issues))}\n`);
  }
  return issues.length === 0 ? EXIT.ok : EXIT.invalid;
}

export const validateCommand: CommandDefinition = {
  name: "validate",
  summary: "check a spec without creating anything",
  usage: "testenv-vm validate [--spec forge.yaml] [--name <entry>] [--env KEY,...] [--json]\n       testenv-vm validate [--dir folder] [--json]   (a project folder: its .env and the files it names)",
  flags: ["spec", "name", "dir", "env", ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "validate");
    if (stringFlag(context.args.flags, "spec") === undefined && hasEnvFile(context)) return validateProject(context);
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
