import { z } from "zod";
import { TestenvError } from "../../errors.js";
import { asObject, checkTestID, parseWith } from "../inputs.js";

// What the snapshot-* tools share: the environment, the snapshot's name (default "default", as on the CLI) and
// the state dir, checked so that a missing testID is named as the other tools name it.

const TEST_ID = z.string().describe("Environment id given to create.");
const NAME = z.string().min(1).optional().describe('Snapshot name: 1-63 letters, digits, "_", "." or "-" (default "default").');
const STATE_DIR = z.string().optional().describe("State directory, when not the default or TESTENV_VM_STATE_DIR.");
export const DEFAULT_SNAPSHOT = "default";

export const SnapshotSaveInput = z.strictObject({
  testID: TEST_ID,
  name: NAME,
  overwrite: z.boolean().optional().describe("Replace a snapshot of that name (default false: ALREADY_EXISTS)."),
  stateDir: STATE_DIR,
});
export const SnapshotRestoreInput = z.strictObject({
  testID: TEST_ID,
  name: NAME,
  waitReady: z.boolean().optional().describe("Wait until every VM answers its readiness checks again (default true)."),
  stateDir: STATE_DIR,
});
export const SnapshotListInput = z.strictObject({ testID: TEST_ID, stateDir: STATE_DIR });
export const SnapshotDeleteInput = z.strictObject({ testID: TEST_ID, name: NAME, stateDir: STATE_DIR });

export function parseSnapshotArgs<T extends { testID: string }>(schema: z.ZodType<T>, raw: unknown): T {
  const args = asObject(raw);
  if (args.testID === undefined || args.testID === null || args.testID === "") {
    throw new TestenvError("INPUT_INVALID", "missing required field 'testID'", { issues: [{ field: "testID", message: "required" }] });
  }
  const input = parseWith(schema, args);
  checkTestID(input.testID);
  return input;
}

export const stateDirOption = (stateDir: string | undefined): { stateDir?: string } => (stateDir === undefined ? {} : { stateDir });
