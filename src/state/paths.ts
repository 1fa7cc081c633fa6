import { isAbsolute, resolve } from "node:path";
import { TestenvError, quoted } from "../errors.js";

export const STATE_DIR_ENV = "TESTENV_VM_STATE_DIR";
export const DEFAULT_STATE_DIR = ".forge/testenv-vm";

export interface StateDirOptions {
  env?: NodeJS.ProcessEnv;
  specStateDir?: string;
  /** Project root: relative state dirs resolve against it, never against the process cwd. */
  rootDir: string;
}

/** TESTENV_VM_STATE_DIR, then the spec's stateDir, then .forge/testenv-vm; always absolute. */
export function resolveStateDir(options: StateDirOptions): string {
  const env = options.env ?? process.env;
  const chosen = nonEmpty(env[STATE_DIR_ENV]) ?? nonEmpty(options.specStateDir) ?? DEFAULT_STATE_DIR;
  return isAbsolute(chosen) ? resolve(chosen) : resolve(options.rootDir, chosen);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

const TEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TEST_ID_MAX = 128;

/** The testID becomes part of file names and resource names, so it is held to a safe alphabet. */
export function validateTestID(testID: unknown): asserts testID is string {
  const problem = testIDProblem(testID);
  if (problem === undefined) return;
  const shown = typeof testID === "string" ? quoted(testID) : String(testID);
  throw new TestenvError("INPUT_INVALID", `testID ${shown} is invalid: ${problem}`, {
    issues: [{ field: "testID", message: problem }],
  });
}

function testIDProblem(testID: unknown): string | undefined {
  if (typeof testID !== "string" || testID === "") return "it must be a non-empty string";
  if (testID.length > TEST_ID_MAX) return `it is ${testID.length} characters long; the limit is ${TEST_ID_MAX}`;
  if (!TEST_ID_PATTERN.test(testID)) {
    return "use letters, digits, '.', '_' and '-' only, starting with a letter or digit";
  }
  if (testID.includes("..")) return "it must not contain '..'";
  return undefined;
}
