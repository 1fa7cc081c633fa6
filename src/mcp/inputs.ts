import { z } from "zod";
import { ConfigValidateInput, CreateInput, DeleteInput } from "../../api/index.js";
import { TestenvError, quoted, type Issue } from "../errors.js";

// Tool arguments are validated here rather than by the SDK so that every failure reaches the caller
// as `<Tool> failed: <field>: <message>` (Forge shows content[0].text) instead of a generic
// "Input validation error" or a JSON-RPC error.

const STATE_DIR_ARGUMENT = "State directory: the server's own (the default) or one it was started with (--allow-state-dir, TESTENV_VM_MCP_STATE_DIRS); any other is refused.";
const TEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REQUIRED_CREATE_FIELDS = ["testID", "stage", "tmpDir"] as const;

export const StatusInput = z.strictObject({
  testID: z.string().describe("Environment id given to create."),
  stateDir: z.string().optional().describe(STATE_DIR_ARGUMENT),
});
export type StatusInput = z.infer<typeof StatusInput>;

const VM_NAME = z.string().min(1).describe("The VM's name in the spec (or as given to createVM), not its provider name.");
const VM_STATE_DIR = z.string().optional().describe(STATE_DIR_ARGUMENT);

export const VMStartInput = z.strictObject({
  testID: z.string().describe("Environment id given to create."),
  vm: VM_NAME,
  waitReady: z.boolean().optional().describe("Wait for the VM's readiness checks again (default true)."),
  stateDir: VM_STATE_DIR,
});
export type VMStartInput = z.infer<typeof VMStartInput>;

export const VMStopInput = z.strictObject({
  testID: z.string().describe("Environment id given to create."),
  vm: VM_NAME,
  timeoutSeconds: z.number().int().min(1).max(3600).optional().describe("Seconds the guest gets to shut down before it is forced off (default 60)."),
  force: z.boolean().optional().describe("Power off at once, without asking the guest."),
  stateDir: VM_STATE_DIR,
});
export type VMStopInput = z.infer<typeof VMStopInput>;

export const ListInput = z.strictObject({
  stateDir: z.string().optional().describe(STATE_DIR_ARGUMENT),
});
export type ListInput = z.infer<typeof ListInput>;

/** Delete as Forge calls it, plus an optional stateDir (one the server serves). */
export const DeleteToolInput = DeleteInput.extend({
  stateDir: z.string().optional().describe(STATE_DIR_ARGUMENT),
}).strict();
export type DeleteToolInput = z.infer<typeof DeleteToolInput>;

export const CreateToolInput = CreateInput.strict();
export const ConfigValidateToolInput = ConfigValidateInput.strict();

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(arguments)" : out;
}

/** zod issues as our Issue list; unknown keys are reported one per key so each names its field. */
export function zodIssues(error: z.ZodError): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({ field: fieldPath([...issue.path, key]), message: "unknown field; remove it (see tools/list for the accepted fields)" });
      }
    } else {
      issues.push({ field: fieldPath(issue.path), message: issue.message });
    }
  }
  return issues;
}

function invalid(issues: Issue[]): TestenvError {
  const message = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
  return new TestenvError("INPUT_INVALID", message, { issues });
}

export function asObject(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw invalid([{ field: "(arguments)", message: `expected an object, got ${Array.isArray(raw) ? "array" : typeof raw}` }]);
  }
  return raw as Record<string, unknown>;
}

export function checkTestID(testID: string): void {
  if (!TEST_ID_PATTERN.test(testID)) {
    throw invalid([
      {
        field: "testID",
        message: `${quoted(testID)} is not a safe id: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      },
    ]);
  }
}

export function parseWith<T>(schema: z.ZodType<T>, args: Record<string, unknown>): T {
  const parsed = schema.safeParse(args);
  if (!parsed.success) throw invalid(zodIssues(parsed.error));
  return parsed.data;
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === "";
}

export function parseCreateArgs(raw: unknown): CreateInput {
  const args = asObject(raw);
  // Same text as the original for the three fields Forge always sends; first missing one, fixed order.
  for (const field of REQUIRED_CREATE_FIELDS) {
    if (isBlank(args[field])) {
      throw new TestenvError("INPUT_INVALID", `missing required field '${field}'`, {
        issues: [{ field, message: "required" }],
      });
    }
  }
  const input = parseWith(CreateToolInput, args);
  checkTestID(input.testID);
  return input;
}

export function parseDeleteArgs(raw: unknown): DeleteToolInput {
  const args = asObject(raw);
  if (isBlank(args.testID)) {
    throw new TestenvError("INPUT_INVALID", "missing required field 'testID'", { issues: [{ field: "testID", message: "required" }] });
  }
  const input = parseWith(DeleteToolInput, args);
  checkTestID(input.testID);
  return input;
}

export function parseStatusArgs(raw: unknown): StatusInput {
  const args = asObject(raw);
  if (isBlank(args.testID)) {
    throw new TestenvError("INPUT_INVALID", "missing required field 'testID'", { issues: [{ field: "testID", message: "required" }] });
  }
  const input = parseWith(StatusInput, args);
  checkTestID(input.testID);
  return input;
}

/** Arguments naming one VM of an environment: testID and vm are required, in that order, then the schema. */
export function parseVMArgs<T extends { testID: string }>(schema: z.ZodType<T>, raw: unknown): T {
  const args = asObject(raw);
  for (const field of ["testID", "vm"] as const) {
    if (isBlank(args[field])) throw new TestenvError("INPUT_INVALID", `missing required field '${field}'`, { issues: [{ field, message: "required" }] });
  }
  const input = parseWith(schema, args);
  checkTestID(input.testID);
  return input;
}

export function parseVMStartArgs(raw: unknown): VMStartInput {
  return parseVMArgs(VMStartInput, raw);
}

export function parseVMStopArgs(raw: unknown): VMStopInput {
  return parseVMArgs(VMStopInput, raw);
}

export function parseListArgs(raw: unknown): ListInput {
  return parseWith(ListInput, asObject(raw));
}

export function parseValidateArgs(raw: unknown): ConfigValidateInput {
  return parseWith(ConfigValidateToolInput, asObject(raw));
}

/** JSON Schema advertised in tools/list (draft-07, like the original's go-sdk schemas). */
export function advertisedSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: "input", target: "draft-7", unrepresentable: "any" }) as Record<string, unknown>;
  return json;
}
