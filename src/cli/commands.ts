import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { CreateInput, TestEnvArtifact } from "../../api/index.js";
import { errorMessage, formatIssues, isTestenvError, type Issue } from "../errors.js";
import { createLogger } from "../../lib/log.js";
import { summarizeState, type StateSummary } from "../orchestrator/summary.js";
import type { Engine } from "../orchestrator/orchestrator.js";
import type { EnvironmentSummary } from "../orchestrator/summary.js";
import { loadSpecFile, type LoadedSpec } from "../spec/load.js";
import { parsePath } from "../spec/paths.js";
import { extractTemplateRefs } from "../spec/template.js";
import { UsageError, booleanFlag, stringFlag, type FlagName, type ParsedArgs } from "./args.js";
import { EXIT, exitCodeFor, type ExitCode } from "./exit-codes.js";
import { progressPrinter } from "./progress.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext extends CliIo {
  args: ParsedArgs;
  /** The orchestrator for this invocation; --state-dir is applied through TESTENV_VM_STATE_DIR. */
  engine(): Promise<Engine>;
}

export interface CommandDefinition {
  summary: string;
  usage: string;
  flags: readonly FlagName[];
  run(context: CommandContext): Promise<ExitCode>;
}

const COMMON: readonly FlagName[] = ["json", "quiet", "verbose", "help"];

/**
 * Subcommands by name. Later features add theirs with registerCommand (images list|pull|prune from
 * src/image; up|ssh|stop|rm with the project-folder workflow) without touching the parser or bin.
 */
export const COMMANDS = new Map<string, CommandDefinition>();

export function registerCommand(name: string, definition: CommandDefinition): void {
  if (COMMANDS.has(name)) throw new Error(`CLI command ${name} is registered twice`);
  COMMANDS.set(name, definition);
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

function writeJson(context: CliIo, value: unknown): void {
  context.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function specPath(context: CommandContext): string {
  return resolve(context.cwd, stringFlag(context.args.flags, "spec") ?? "forge.yaml");
}

async function loadSpec(context: CommandContext): Promise<LoadedSpec> {
  const name = stringFlag(context.args.flags, "name");
  return loadSpecFile(specPath(context), name === undefined ? {} : { name });
}

/** Adds line:col to issues that name a spec field, when the spec came from a file. */
export function locateIssues(issues: readonly Issue[], loaded: LoadedSpec | undefined): Issue[] {
  if (!loaded) return [...issues];
  return issues.map((issue) => {
    if (issue.line !== undefined) return issue;
    const field = issue.field.startsWith("spec.") ? issue.field.slice(5) : issue.field;
    const at = loaded.locate(parsePath(field));
    return at ? { ...issue, line: at.line, col: at.col } : issue;
  });
}

function requireID(context: CommandContext, command: string): string {
  const id = stringFlag(context.args.flags, "id");
  if (id === undefined) throw new UsageError(`'${command}' needs the environment id: testenv-vm ${command} --id <testID> (see 'testenv-vm list')`);
  return id;
}

function rejectPositionals(context: CommandContext, command: string): void {
  const extra = context.args.positionals[0];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' for '${command}'; options start with --, see 'testenv-vm ${command} --help'`);
}

/** Prints a failure (stderr, or one JSON document with --json) and returns its exit code. */
export function reportFailure(context: CliIo & { args?: ParsedArgs }, operation: string, error: unknown, loaded?: LoadedSpec): ExitCode {
  const code = exitCodeFor(error);
  const issues = isTestenvError(error) ? locateIssues(error.issues, loaded) : [];
  if (context.args && booleanFlag(context.args.flags, "json")) {
    writeJson(context, {
      ok: false,
      operation,
      error: {
        code: isTestenvError(error) ? error.code : error instanceof UsageError ? "USAGE" : "INTERNAL",
        message: errorMessage(error),
        ...(issues.length > 0 ? { issues } : {}),
        ...(isTestenvError(error) && Object.keys(error.details).length > 0 ? { details: error.details } : {}),
      },
    });
    return code;
  }
  // Issues carry line:col here; print them instead of the message's own unlocated copy.
  const message = issues.length > 0 ? firstLine(errorMessage(error)) : errorMessage(error);
  context.stderr.write(`testenv-vm ${operation} failed: ${message}\n`);
  if (issues.length > 0) context.stderr.write(`${indent(formatIssues(issues))}\n`);
  return code;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

function progressFor(context: CommandContext): ((event: Parameters<ReturnType<typeof progressPrinter>>[0]) => void) | undefined {
  return booleanFlag(context.args.flags, "quiet") ? undefined : progressPrinter(context.stderr);
}

function printArtifact(context: CliIo, artifact: TestEnvArtifact, seconds: string): void {
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
  context.stdout.write(`${lines.join("\n")}\n`);
}

registerCommand("create", {
  summary: "create the environment described by a spec",
  usage: "testenv-vm create [--spec forge.yaml] [--name <entry>] [--id <testID>] [--stage cli] [--tmp-dir dir] [--state-dir dir] [--keep-on-failure] [--json]",
  flags: ["spec", "name", "id", "stage", "tmp-dir", "state-dir", "keep-on-failure", ...COMMON],
  async run(context) {
    rejectPositionals(context, "create");
    let loaded: LoadedSpec | undefined;
    try {
      loaded = await loadSpec(context);
      const stage = stringFlag(context.args.flags, "stage") ?? "cli";
      const testID = stringFlag(context.args.flags, "id") ?? defaultTestID(stage);
      const tmpDir = resolve(context.cwd, stringFlag(context.args.flags, "tmp-dir") ?? ".forge/tmp");
      await mkdir(tmpDir, { recursive: true });
      const input: CreateInput = {
        testID,
        stage,
        tmpDir,
        rootDir: context.cwd,
        metadata: {},
        spec: loaded.raw as Record<string, unknown>,
        env: referencedEnv(loaded.raw, context.env),
        ...(booleanFlag(context.args.flags, "keep-on-failure") ? { keepOnFailure: true } : {}),
      };
      const started = Date.now();
      const onProgress = progressFor(context);
      const artifact = await (await context.engine()).create(input, onProgress ? { onProgress } : {});
      if (booleanFlag(context.args.flags, "json")) writeJson(context, artifact);
      else printArtifact(context, artifact, ((Date.now() - started) / 1000).toFixed(1));
      return EXIT.ok;
    } catch (error) {
      return reportFailure(context, "create", error, loaded);
    }
  },
});

registerCommand("delete", {
  summary: "delete an environment from its state file (no spec needed)",
  usage: "testenv-vm delete --id <testID> [--state-dir dir | --spec forge.yaml] [--json]",
  flags: ["id", "state-dir", "spec", "name", ...COMMON],
  async run(context) {
    rejectPositionals(context, "delete");
    const testID = requireID(context, "delete");
    try {
      const onProgress = progressFor(context);
      const result = await (await context.engine()).delete({ testID, metadata: null }, onProgress ? { onProgress } : {});
      if (booleanFlag(context.args.flags, "json")) writeJson(context, { testID, ...result });
      else context.stdout.write(result.alreadyGone ? `Environment ${testID} was already gone\n` : `Deleted environment ${testID}: ${result.deleted} resource(s)\n`);
      return EXIT.ok;
    } catch (error) {
      return reportFailure(context, "delete", error);
    }
  },
});

registerCommand("validate", {
  summary: "check a spec without creating anything",
  usage: "testenv-vm validate [--spec forge.yaml] [--name <entry>] [--json]",
  flags: ["spec", "name", ...COMMON],
  async run(context) {
    rejectPositionals(context, "validate");
    let loaded: LoadedSpec;
    try {
      loaded = await loadSpec(context);
    } catch (error) {
      if (isTestenvError(error) && error.issues.length > 0) return printValidation(context, error.issues);
      return reportFailure(context, "validate", error);
    }
    const output = (await context.engine()).validate(loaded.raw);
    return printValidation(context, locateIssues(output.errors ?? [], loaded));
  },
});

function printValidation(context: CommandContext, issues: readonly Issue[]): ExitCode {
  if (booleanFlag(context.args.flags, "json")) {
    writeJson(context, issues.length === 0 ? { valid: true } : { valid: false, errors: issues });
  } else if (issues.length === 0) {
    context.stdout.write(`${specPath(context)}: configuration is valid\n`);
  } else {
    context.stderr.write(`${specPath(context)}: configuration validation failed with ${issues.length} error(s):\n${indent(formatIssues(issues))}\n`);
  }
  return issues.length === 0 ? EXIT.ok : EXIT.invalid;
}

registerCommand("status", {
  summary: "show an environment and the state of each resource",
  usage: "testenv-vm status --id <testID> [--state-dir dir | --spec forge.yaml] [--json]",
  flags: ["id", "state-dir", "spec", "name", ...COMMON],
  async run(context) {
    rejectPositionals(context, "status");
    const testID = requireID(context, "status");
    try {
      const summary = summarizeState(await (await context.engine()).status(testID));
      if (booleanFlag(context.args.flags, "json")) writeJson(context, summary);
      else context.stdout.write(formatStatus(summary));
      return EXIT.ok;
    } catch (error) {
      return reportFailure(context, "status", error);
    }
  },
});

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function formatStatus(summary: StateSummary): string {
  const head = [
    `Environment ${summary.testID}: ${summary.status}`,
    `  stage ${summary.stage}, prefix ${summary.prefix}, updated ${summary.updatedAt}`,
    `  state dir ${summary.stateDir}`,
    `  artifact dir ${summary.artifactDir}`,
  ];
  const rows = [["KIND", "NAME", "PROVIDER NAME", "PROVIDER", "STATUS", "IP"]];
  for (const r of summary.resources) {
    const ip = typeof r.state?.ip === "string" ? r.state.ip : "";
    rows.push([r.kind, r.name, r.providerName, r.provider, r.status, ip]);
  }
  const errors = summary.errors.map((e) => `  ${e.operation} ${e.resource ? `${e.resource.kind} ${e.resource.name}` : ""}: ${e.code ? `${e.code}: ` : ""}${e.error}`);
  return `${[...head, "", table(rows), ...(errors.length > 0 ? ["", "errors:", ...errors] : [])].join("\n")}\n`;
}

registerCommand("list", {
  summary: "list the environments in the state dir",
  usage: "testenv-vm list [--state-dir dir | --spec forge.yaml] [--json]",
  flags: ["state-dir", "spec", "name", ...COMMON],
  async run(context) {
    rejectPositionals(context, "list");
    try {
      const environments = await (await context.engine()).list();
      if (booleanFlag(context.args.flags, "json")) writeJson(context, { environments, count: environments.length });
      else context.stdout.write(formatList(environments));
      return EXIT.ok;
    } catch (error) {
      return reportFailure(context, "list", error);
    }
  },
});

export function formatList(environments: readonly EnvironmentSummary[]): string {
  if (environments.length === 0) return "No environments\n";
  const rows = [["TEST ID", "STATUS", "RESOURCES", "STAGE", "UPDATED"]];
  for (const env of environments) rows.push([env.testID, env.status, String(env.resources.length), env.stage, env.updatedAt]);
  return `${table(rows)}\n`;
}

/**
 * The state dir a command without a spec argument should look in, resolved like create resolves it:
 * --state-dir, then TESTENV_VM_STATE_DIR, then the spec's stateDir (from --spec or ./forge.yaml when it exists),
 * then the orchestrator's default. Without the spec step, `delete` of an environment created with a custom
 * stateDir would find nothing and report it "already gone" while its resources live on.
 */
async function stateDirFor(io: CliIo, args: ParsedArgs, lookInSpec: boolean): Promise<string | undefined> {
  const explicit = stringFlag(args.flags, "state-dir");
  if (explicit !== undefined) return resolve(io.cwd, explicit);
  if (io.env.TESTENV_VM_STATE_DIR || !lookInSpec) return undefined;
  const given = stringFlag(args.flags, "spec");
  const path = resolve(io.cwd, given ?? "forge.yaml");
  if (given === undefined && !existsSync(path)) return undefined;
  const name = stringFlag(args.flags, "name");
  try {
    const loaded = await loadSpecFile(path, name === undefined ? {} : { name });
    return loaded.spec.stateDir === undefined ? undefined : resolve(io.cwd, loaded.spec.stateDir);
  } catch (error) {
    // An unrelated or broken ./forge.yaml must not stop a delete; a spec the user named must load.
    if (given !== undefined) throw error;
    return undefined;
  }
}

/**
 * The orchestrator a command runs against, with the state dir resolved as above.
 * Imported on first use so --help and usage errors stay fast and work even without a build of the engine.
 */
export async function engineFor(io: CliIo, args: ParsedArgs, command: string): Promise<Engine> {
  const { Orchestrator } = await import("../orchestrator/orchestrator.js");
  // create and validate read the spec themselves; the orchestrator applies its stateDir.
  const stateDir = await stateDirFor(io, args, command !== "create" && command !== "validate");
  const env = stateDir === undefined ? io.env : { ...io.env, TESTENV_VM_STATE_DIR: stateDir };
  return new Orchestrator({ rootDir: io.cwd, env, log: createLogger("testenv-vm") });
}
