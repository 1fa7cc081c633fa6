import type { Plan } from "../../../api/plan.js";
import { errorMessage, formatIssues, isTestenvError, type Issue } from "../../errors.js";
import type { LoadedSpec } from "../../spec/load.js";
import { booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { COMMON_FLAGS, type Flag } from "../flags.js";
import { indent, writeJson } from "../output.js";
import { hasEnvFile, openProject } from "../project.js";
import { referencedEnv } from "./create.js";
import { planInput } from "./plan.js";

const NO_PLAN: Flag = { name: "no-plan", value: false, description: "validate: check the spec only; start no provider and show no plan summary" };

/** What create would refuse although the spec itself is valid: its providers cannot serve it, or none fits. */
const REFUSALS = new Set(["NOT_IMPLEMENTED", "SPEC_INVALID", "TEMPLATE_ERROR", "INPUT_INVALID"]);

type PlanOutcome = { plan: Plan } | { issues: readonly Issue[] } | { unavailable: string };

/**
 * The plan of a valid spec (the plan command's own, so no side effects): a refusal create would make is a problem
 * of the spec; a provider that cannot answer (not installed, not started) leaves the spec valid, without a summary.
 */
async function planOf(context: CommandContext, env: Record<string, string>): Promise<PlanOutcome> {
  try {
    const input = { ...(await planInput(context)), env };
    return { plan: await (await openEngine(context)).plan(input) };
  } catch (error) {
    if (isTestenvError(error) && REFUSALS.has(error.code) && error.issues.length > 0) return { issues: error.issues };
    return { unavailable: errorMessage(error) };
  }
}

/** Every problem of the spec file; one that does not load is reported through its issues, like one that does. */
async function specIssues(context: CommandContext): Promise<{ issues: readonly Issue[]; env?: Record<string, string> }> {
  let loaded: LoadedSpec;
  try {
    loaded = await context.specFile.load();
  } catch (error) {
    // Not an error handler: issues (malformed YAML, schema errors) are this command's output. Anything else fails.
    if (isTestenvError(error) && error.issues.length > 0) return { issues: error.issues };
    throw error;
  }
  // The env a create with the same flags would pass: a variable it would refuse is a problem here too.
  let env: Record<string, string>;
  try {
    env = referencedEnv(loaded.raw, context.env, stringFlag(context.args.flags, "env"));
  } catch (error) {
    if (isTestenvError(error) && error.issues.length > 0) return { issues: error.issues };
    throw error;
  }
  const output = await (await openEngine(context)).validate(loaded.raw, { env });
  return { issues: context.specFile.locate(output.errors ?? []), env };
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
    const output = await (await openEngine(context)).validate(project.spec);
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
  usage:
    "testenv-vm validate [--spec forge.yaml] [--name <entry>] [--env KEY,...] [--no-plan] [--json]\n       testenv-vm validate [--dir folder] [--json]   (a project folder: its .env and the files it names)\n" +
    "  a valid spec is also planned (providers in inspect mode, nothing changed): phases, resources, providers, hashes",
  flags: ["spec", "name", "dir", "env", NO_PLAN, "state-dir", ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "validate");
    if (stringFlag(context.args.flags, "spec") === undefined && hasEnvFile(context)) return validateProject(context);
    const checked = await specIssues(context);
    const outcome: PlanOutcome | undefined =
      checked.issues.length > 0 || checked.env === undefined || booleanFlag(context.args.flags, NO_PLAN) ? undefined : await planOf(context, checked.env);
    const issues = outcome !== undefined && "issues" in outcome ? context.specFile.locate(outcome.issues) : checked.issues;
    const { path } = context.specFile;
    const { planSummary, planSummaryText } = await import("../../orchestrator/plan-text.js");
    if (booleanFlag(context.args.flags, "json")) {
      const plan = outcome !== undefined && "plan" in outcome ? { plan: planSummary(outcome.plan) } : outcome !== undefined && "unavailable" in outcome ? { planUnavailable: outcome.unavailable } : {};
      writeJson(context, issues.length === 0 ? { valid: true, ...plan } : { valid: false, errors: issues });
    } else if (issues.length === 0) {
      context.stdout.write(`${path}: configuration is valid\n`);
      if (outcome !== undefined && "plan" in outcome) context.stdout.write(planSummaryText(outcome.plan));
      if (outcome !== undefined && "unavailable" in outcome) context.stderr.write(`no plan summary: ${outcome.unavailable}\n`);
    } else {
      context.stderr.write(`${path}: configuration validation failed with ${issues.length} error(s):\n${indent(formatIssues(issues))}\n`);
    }
    return issues.length === 0 ? EXIT.ok : EXIT.invalid;
  },
};
