import { TestenvError, formatIssues, type Issue } from "../errors.js";
import { hasTemplate } from "./template.js";
import { formatPath, type FieldPath } from "./paths.js";
import type { Locate } from "./zod-issues.js";

/** Collects issues with their source positions, so every problem is reported at once. */
export class Report {
  readonly issues: Issue[] = [];

  constructor(private readonly locate?: Locate) {}

  add(path: FieldPath, message: string): void {
    const position = this.locate?.(path);
    this.issues.push({ field: formatPath(path), message, ...(position === undefined ? {} : { line: position.line, col: position.col }) });
  }

  /** Runs `problem` on a literal (untemplated) string value and records what it finds. */
  check(path: FieldPath, value: string | undefined, problem: (value: string) => string | undefined): void {
    if (!isLiteral(value)) return;
    const message = problem(value);
    if (message !== undefined) this.add(path, message);
  }
}

/** A string value whose content is final: present and without template actions. */
export function isLiteral(value: string | undefined): value is string {
  return value !== undefined && !hasTemplate(value);
}

export function isBlank(value: string | undefined): boolean {
  return value !== undefined && value.trim() === "";
}

/** SPEC_INVALID listing every issue: `spec is invalid (N problems):` then one line per issue. */
export function specInvalid(issues: readonly Issue[], heading = "spec is invalid"): TestenvError {
  const count = `${issues.length} ${issues.length === 1 ? "problem" : "problems"}`;
  return new TestenvError("SPEC_INVALID", `${heading} (${count}):\n${formatIssues(issues)}`, { issues: [...issues] });
}
