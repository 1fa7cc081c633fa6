import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { CreateInput, TestEnvArtifact } from "../../../api/index.js";
import type { Plan } from "../../../api/plan.js";
import { TestenvError } from "../../errors.js";
import { extractTemplateRefs } from "../../spec/template.js";
import { booleanFlag, rejectPositionals, stringFlag } from "../args.js";
import type { CliIo, CommandDefinition } from "../command.js";
import { openEngine } from "../engine.js";
import { EXIT } from "../exit-codes.js";
import { COMMON_FLAGS, type Flag } from "../flags.js";
import { commandLine, writeJson } from "../output.js";
import { progressFor } from "../progress.js";

const REAP_ON_EXIT: Flag = {
  name: "reap-on-exit",
  value: false,
  description: "create: start a watcher that deletes the environment (and gc's what is left of it) once the process that ran this command dies",
};

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

/** Lists the variables a spec may read as `{{ .Env.KEY }}`: `--env A,B` and TESTENV_VM_PASS_ENV (same form). */
export const PASS_ENV = "TESTENV_VM_PASS_ENV";

function passedNames(flag: string | undefined, env: NodeJS.ProcessEnv): Set<string> {
  const lists = [flag ?? "", env[PASS_ENV] ?? ""];
  return new Set(lists.flatMap((list) => list.split(",")).map((name) => name.trim()).filter((name) => name !== ""));
}

/**
 * At a terminal, `{{ .Env.X }}` reads the caller's environment, but only the variables passed explicitly (--env,
 * TESTENV_VM_PASS_ENV): a spec from elsewhere must not read AWS_SECRET_ACCESS_KEY into a VM and the state file.
 * A spec that reads a variable not passed is refused before anything is created, naming the flag to add.
 */
export function referencedEnv(rawSpec: unknown, env: NodeJS.ProcessEnv, passFlag?: string): Record<string, string> {
  const passed = passedNames(passFlag, env);
  const result: Record<string, string> = {};
  const refused = new Set<string>();
  for (const ref of extractTemplateRefs(rawSpec)) {
    if (ref.category !== "Env" || ref.name === undefined) continue;
    if (!passed.has(ref.name)) {
      refused.add(ref.name);
      continue;
    }
    const value = Object.hasOwn(env, ref.name) ? env[ref.name] : undefined;
    if (typeof value === "string") result[ref.name] = value;
  }
  if (refused.size > 0) {
    const names = [...refused].sort();
    const message = `the spec reads ${names.map((name) => `{{ .Env.${name} }}`).join(", ")}; the CLI passes only the variables you name: add --env ${names.join(",")} (or list them in ${PASS_ENV})`;
    throw new TestenvError("INPUT_INVALID", message, { issues: [{ field: "env", message }] });
  }
  return result;
}

function printArtifact(io: CliIo, artifact: TestEnvArtifact, seconds: string, stateDir: string | undefined): void {
  const lines = [`Created environment ${artifact.testID} in ${seconds} s`];
  const picked = artifact.metadata["testenv-vm.provider"];
  if (picked !== undefined) lines.push(`Provider ${picked} picked (the spec names none): ${artifact.metadata["testenv-vm.provider.reason"] ?? ""}`);
  const section = (title: string, map: Record<string, string>): void => {
    const keys = Object.keys(map).sort();
    if (keys.length === 0) return;
    lines.push(`${title}:`, ...keys.map((key) => `  ${key}=${map[key]}`));
  };
  section("env", artifact.env);
  section("metadata", artifact.metadata);
  section("files (relative to the tmp dir)", artifact.files);
  // The state dir is always named: run from another folder or without the same environment, the hint still finds it.
  const deleteArgv = ["testenv-vm", "delete", "--id", artifact.testID, ...(stateDir === undefined ? [] : ["--state-dir", stateDir])];
  lines.push(`Delete it with: ${commandLine(deleteArgv)}`);
  io.stdout.write(`${lines.join("\n")}\n`);
}

export const createCommand: CommandDefinition = {
  name: "create",
  summary: "create the environment described by a spec",
  usage: "testenv-vm create [--spec forge.yaml] [--name <entry>] [--id <testID>] [--stage cli] [--tmp-dir dir] [--state-dir dir] [--env KEY,...] [--plan plan.json] [--keep-on-failure] [--reap-on-exit] [--json]",
  flags: ["spec", "name", "id", "stage", "tmp-dir", "state-dir", "env", PLAN, "keep-on-failure", REAP_ON_EXIT, ...COMMON_FLAGS],
  async run(context) {
    const { flags } = context.args;
    rejectPositionals(context.args, "create");
    const loaded = await context.specFile.load();
    const planPath = stringFlag(flags, PLAN);
    const plan = planPath === undefined ? undefined : await readPlan(context, planPath);
    const stage = stringFlag(flags, "stage") ?? plan?.stage ?? "cli";
    const testID = stringFlag(flags, "id") ?? plan?.testID ?? defaultTestID(stage);
    const tmpDir = resolve(context.cwd, stringFlag(flags, "tmp-dir") ?? ".forge/tmp");
    const { assertDirectories } = await import("../../orchestrator/input.js");
    assertDirectories({ tmpDir });
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const input: CreateInput = {
      testID,
      stage,
      tmpDir,
      rootDir: context.cwd,
      metadata: {},
      spec: loaded.raw as Record<string, unknown>,
      env: referencedEnv(loaded.raw, context.env, stringFlag(flags, "env")),
      ...(booleanFlag(flags, "keep-on-failure") ? { keepOnFailure: true } : {}),
    };
    const started = Date.now();
    const onProgress = progressFor(context);
    const engine = await openEngine(context);
    if (booleanFlag(flags, REAP_ON_EXIT)) {
      // Started before the create, so a create killed half-way is cleaned up too; it watches our caller (a shell,
      // a test runner), since this process ends as soon as the environment is ready.
      const { resolveStateDir } = await import("../../state/paths.js");
      const explicit = stringFlag(flags, "state-dir");
      const stateDir = explicit !== undefined ? resolve(context.cwd, explicit) : resolveStateDir({ env: context.env, specStateDir: loaded.spec.stateDir, rootDir: context.cwd });
      await engine.startReaper({ testID, stateDir }, process.ppid);
    }
    const artifact = await engine.create(input, { ...(onProgress ? { onProgress } : {}), ...(plan ? { plan } : {}) });
    if (booleanFlag(flags, "json")) writeJson(context, artifact);
    else {
      // The api module loads zod: imported here, after the engine has loaded it anyway, so --help stays light.
      const { METADATA_STATE_DIR } = await import("../../../api/forge.js");
      printArtifact(context, artifact, ((Date.now() - started) / 1000).toFixed(1), artifact.metadata[METADATA_STATE_DIR]);
    }
    return EXIT.ok;
  },
};
