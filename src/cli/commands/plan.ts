import { resolve } from "node:path";
import type { CreateInput } from "../../../api/forge.js";
import { booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CommandContext, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS } from "../flags.js";
import { referencedEnv } from "./create.js";

/**
 * The create input a plan is made for: like create's, but without a random testID (a plan must be reproducible):
 * --id, else plan-<stage>-<first 8 hex of the spec hash>.
 */
export async function planInput(context: CommandContext): Promise<CreateInput> {
  const { flags } = context.args;
  const loaded = await context.specFile.load();
  const stage = stringFlag(flags, "stage") ?? "cli";
  const { hashSpec } = await import("../../orchestrator/orchestrator.js");
  return {
    testID: stringFlag(flags, "id") ?? `plan-${stage}-${hashSpec(loaded.spec).slice(0, 8)}`,
    stage,
    tmpDir: resolve(context.cwd, stringFlag(flags, "tmp-dir") ?? ".forge/tmp"),
    rootDir: context.cwd,
    metadata: {},
    spec: loaded.raw as Record<string, unknown>,
    env: referencedEnv(loaded.raw, context.env),
  };
}

export const planCommand: CommandDefinition = {
  name: "plan",
  summary: "show exactly what create would do, changing nothing (save --json output for create --plan)",
  usage:
    "testenv-vm plan [--spec forge.yaml] [--name <entry>] [--id <testID>] [--stage cli] [--tmp-dir dir] [--state-dir dir] [--json]\n" +
    "  the testID defaults to plan-<stage>-<8 hex of the spec hash>; create --plan plan.json applies the plan",
  flags: ["spec", "name", "id", "stage", "tmp-dir", "state-dir", ...COMMON_FLAGS],
  async run(context) {
    rejectPositionals(context.args, "plan");
    const input = await planInput(context);
    const { planJson, planText } = await import("../../orchestrator/orchestrator.js");
    const plan = await (await openEngine(context)).plan(input);
    context.stdout.write(booleanFlag(context.args.flags, "json") ? planJson(plan) : planText(plan));
    return EXIT.ok;
  },
};
