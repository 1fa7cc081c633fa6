import type { z } from "zod";
import { directoryProblem } from "../../lib/path-kind.js";
import { TestenvError, formatIssues, type Issue } from "../errors.js";

// Checks of what a surface hands in (CLI flags, MCP arguments, library calls), before anything else runs.

function inputIssues(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({ field: issue.path.join(".") || "(input)", message: issue.message }));
}

export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = inputIssues(parsed.error);
    throw new TestenvError("INPUT_INVALID", `${what} input is invalid:\n${formatIssues(issues)}`, { issues });
  }
  return parsed.data;
}

export function requireField(value: string, field: string): void {
  if (value.trim() === "") {
    throw new TestenvError("INPUT_INVALID", `missing required field '${field}'`, { issues: [{ field, message: "required" }] });
  }
}

/** Each directory (by the field that chose it) must be usable as one: a file in its way is refused before anything is made. */
export function assertDirectories(dirs: Readonly<Record<string, string>>): void {
  const issues: Issue[] = [];
  for (const [field, path] of Object.entries(dirs)) {
    const problem = directoryProblem(path);
    if (problem !== undefined) issues.push({ field, message: `${field} cannot be used: ${problem}` });
  }
  if (issues.length > 0) throw new TestenvError("INPUT_INVALID", `nothing was created:\n${formatIssues(issues)}`, { issues });
}
