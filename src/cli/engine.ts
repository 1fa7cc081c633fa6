import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createLogger } from "../../lib/log.js";
import type { Engine } from "../orchestrator/orchestrator.js";
import { stringFlag } from "./args.js";
import type { CommandContext } from "./command.js";

export interface EngineOptions {
  /**
   * The command gets no spec of its own (delete, status, list): look for the state dir in the spec file too.
   * Without it, create and validate hand their spec to the engine, which applies its stateDir itself.
   */
  stateDirFromSpecFile?: boolean;
}

/**
 * The state dir a command without a spec argument should look in, resolved like create resolves it:
 * --state-dir, then TESTENV_VM_STATE_DIR, then the spec's stateDir (from --spec or ./forge.yaml when it exists),
 * then the orchestrator's default. Without the spec step, `delete` of an environment created with a custom
 * stateDir would find nothing and report it "already gone" while its resources live on.
 */
async function stateDirFor(context: CommandContext, lookInSpec: boolean): Promise<string | undefined> {
  const explicit = stringFlag(context.args.flags, "state-dir");
  if (explicit !== undefined) return resolve(context.cwd, explicit);
  const { specFile } = context;
  if (context.env.TESTENV_VM_STATE_DIR || !lookInSpec) return undefined;
  if (!specFile.named && !existsSync(specFile.path)) return undefined;
  try {
    const loaded = await specFile.read();
    return loaded.spec.stateDir === undefined ? undefined : resolve(context.cwd, loaded.spec.stateDir);
  } catch (error) {
    // An unrelated or broken ./forge.yaml must not stop a delete; a spec the user named must load.
    if (specFile.named) throw error;
    return undefined;
  }
}

/**
 * The orchestrator a command runs against, with --state-dir (or the state dir found as above) applied through
 * TESTENV_VM_STATE_DIR. Imported on first use so --help and usage errors stay fast.
 */
export async function openEngine(context: CommandContext, options: EngineOptions = {}): Promise<Engine> {
  const { Orchestrator } = await import("../orchestrator/orchestrator.js");
  const stateDir = await stateDirFor(context, options.stateDirFromSpecFile === true);
  const env = stateDir === undefined ? context.env : { ...context.env, TESTENV_VM_STATE_DIR: stateDir };
  return new Orchestrator({ rootDir: context.cwd, env, log: createLogger("testenv-vm") });
}
