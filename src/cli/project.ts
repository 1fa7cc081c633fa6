import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLogger } from "../../lib/log.js";
import type { Project } from "../project/load.js";
import type { ProjectInstance } from "../project/instance.js";
import { booleanFlag, stringFlag } from "./args.js";
import type { CommandContext } from "./command.js";
import { progressPrinter } from "./progress.js";

// What the project-folder verbs (up, ssh, stop, start, rm, status, provision) share: the folder (--dir or the
// current one), its .env turned into a project, and the instance over an orchestrator that keeps everything in
// <folder>/.testenv-vm. Engine and project modules are imported on first use so --help stays fast.

export function projectFolder(context: CommandContext): string {
  return resolve(context.cwd, stringFlag(context.args.flags, "dir") ?? ".");
}

/** True when the folder has a .env: status and validate then mean the project, not a spec or an environment id. */
export function hasEnvFile(context: CommandContext): boolean {
  return existsSync(join(projectFolder(context), ".env"));
}

/** A .env, or a forge.yaml whose instance `up` made: `status` then means that instance. */
export function hasProjectInstance(context: CommandContext): boolean {
  const folder = projectFolder(context);
  return hasEnvFile(context) || (existsSync(join(folder, "forge.yaml")) && existsSync(join(folder, ".testenv-vm")));
}

const quiet = (context: CommandContext): boolean => booleanFlag(context.args.flags, "json") || booleanFlag(context.args.flags, "quiet");

/**
 * Ctrl+C during a verb: the first one cancels it (a create rolls back what it made, then exits 130); a second one
 * stops at once, leaving whatever exists for `rm` to remove. Returns the signal the verb runs under.
 */
export function interruptible(context: CommandContext): AbortSignal {
  const controller = new AbortController();
  process.once("SIGINT", () => {
    context.stderr.write("interrupted: stopping and rolling back what was created (Ctrl+C again to quit at once)\n");
    controller.abort(new Error("interrupted"));
    process.once("SIGINT", () => process.exit(130));
  });
  return controller.signal;
}

export async function openProject(context: CommandContext, signal?: AbortSignal): Promise<{ project: Project; instance: ProjectInstance }> {
  const [{ loadProject }, { ProjectInstance }, { Orchestrator }] = await Promise.all([
    import("../project/load.js"),
    import("../project/instance.js"),
    import("../orchestrator/orchestrator.js"),
  ]);
  const project = await loadProject(projectFolder(context));
  // The project's own .testenv-vm is its state dir, whatever TESTENV_VM_STATE_DIR says for forge.yaml runs.
  const env = { ...context.env };
  delete env.TESTENV_VM_STATE_DIR;
  const engine = new Orchestrator({ rootDir: project.folder, env, log: createLogger("testenv-vm") });
  const silent = quiet(context);
  const instance = new ProjectInstance(project, engine, {
    ...(silent ? {} : { progress: (line: string) => context.stderr.write(`${line}\n`), echo: context.stderr, onEngineProgress: progressPrinter(context.stderr) }),
    ...(signal ? { signal } : {}),
  });
  return { project, instance };
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
