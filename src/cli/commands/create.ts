import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CreateInput, TestEnvArtifact } from "../../../api/index.js";
import type { Plan } from "../../../api/plan.js";
import { extractTemplateRefs } from "../../spec/template.js";
import { booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CliIo, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, type Flag } from "../flags.js";
import { writeJson } from "../output.js";
import { progressFor } from "../progress.js";

const PLAN: Flag = { name: "plan", value: true, placeholder: "plan.json", description: "create: apply exactly this plan (testenv-vm plan --json); refused when it is stale" };

/** The plan file of --plan, checked against the plan schema. */
async function readPlan(context: CliIo, path: string): Promise<Plan> {
  const [{ Plan: PlanSchema }, { parseInput }] = await Promise.all([import("../../../api/plan.js"), import("../../orchestrator/input.js")]);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(resolve(context.cwd, path), "utf8"));
  } catch (error) {
    const { TestenvError } = await import("../../errors.js");
    throw new TestenvError("INPUT_INVALID", `--plan ${path}: ${(error as Error).message}; pass the output of testenv-vm plan --json`, { issues: [{ field: "plan", message: "unreadable" }] });
  }
  return parseInput(PlanSchema, json, `--plan ${path}`);
}

export function defaultTestID(stage: string, date = new Date()): string {
  const day = date.toISOString().slice(0, 10).replaceAll("-", "");
  return `test-${stage}-${day}-${randomBytes(4).toString("hex")}`;
}

/**
 * At a terminal, `{{ .Env.X }}` reads the caller's environment (Forge passes its own accumulated env instead).
 * Only the variables the spec references are passed, so the state file never stores the rest of the environment.
 */
export function referencedEnv(rawSpec: unknown, env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const ref of extractTemplateRefs(rawSpec)) {
    if (ref.category !== "Env" || ref.name === undefined) continue;
    const value = env[ref.name];
    if (value !== undefined) result[ref.name] = value;
  }
  return result;
}

function printArtifact(io: CliIo, artifact: TestEnvArtifact, seconds: string): void {
  const lines = [`Created environment ${artifact.testID} in ${seconds} s`];
  const section = (title: string, map: Record<string, string>): void => {
    const keys = Object.keys(map).sort();
    if (keys.length === 0) return;
    lines.push(`${title}:`, ...keys.map((key) => `  ${key}=${map[key]}`));
  };
  section("env", artifact.env);
  section("metadata", artifact.metadata);
  section("files (relative to the tmp dir)", artifact.files);
  lines.push(`Delete it with: testenv-vm delete --id ${artifact.testID}`);
  io.stdout.write(`${lines.join("\n")}\n`);
}

export const createCommand: CommandDefinition = {
  name: "create",
  summary: "create the environment described by a spec",
  usage: "testenv-vm create [--spec forge.yaml] [--name <entry>] [--id <testID>] [--stage cli] [--tmp-dir dir] [--state-dir dir] [--plan plan.json] [--keep-on-failure] [--json]",
  flags: ["spec", "name", "id", "stage", "tmp-dir", "state-dir", PLAN, "keep-on-failure", ...COMMON_FLAGS],
  async run(context) {
    const { flags } = context.args;
    rejectPositionals(context.args, "create");
    const loaded = await context.specFile.load();
    const planPath = stringFlag(flags, PLAN);
    const plan = planPath === undefined ? undefined : await readPlan(context, planPath);
    const stage = stringFlag(flags, "stage") ?? plan?.stage ?? "cli";
    const testID = stringFlag(flags, "id") ?? plan?.testID ?? defaultTestID(stage);
    const tmpDir = resolve(context.cwd, stringFlag(flags, "tmp-dir") ?? ".forge/tmp");
    await mkdir(tmpDir, { recursive: true });
    const input: CreateInput = {
      testID,
      stage,
      tmpDir,
      rootDir: context.cwd,
      metadata: {},
      spec: loaded.raw as Record<string, unknown>,
      env: referencedEnv(loaded.raw, context.env),
      ...(booleanFlag(flags, "keep-on-failure") ? { keepOnFailure: true } : {}),
    };
    const started = Date.now();
    const onProgress = progressFor(context);
    const artifact = await (await openEngine(context)).create(input, { ...(onProgress ? { onProgress } : {}), ...(plan ? { plan } : {}) });
    if (booleanFlag(flags, "json")) writeJson(context, artifact);
    else printArtifact(context, artifact, ((Date.now() - started) / 1000).toFixed(1));
    return EXIT.ok;
  },
};
