import { run, type RunOptions, type RunResult } from "../../lib/run.js";
import { ProviderError } from "../kit/index.js";

export { CommandError, run, type RunOptions, type RunResult } from "../../lib/run.js";

/** Runs a command and turns a failure into a PROVIDER_ERROR that says what we were doing. */
export async function runOrFail(what: string, command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    return await run(command, args, options);
  } catch (error) {
    throw new ProviderError("PROVIDER_ERROR", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
