import { z } from "zod";
import { quoted, type Issue } from "../errors.js";
import { unwrap } from "./nulls.js";
import { formatPath, valueAt, type FieldPath } from "./paths.js";
import { suggestionSuffix } from "./suggest.js";

// Turns zod issues into messages a user can act on: what was expected, what was given, and for
// unknown keys the closest allowed key.

export type Locate = (path: FieldPath) => { line: number; col: number } | undefined;

const EXPECTED: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  record: "a mapping",
};

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return `the string ${quoted(value)}`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return `${value}`;
  if (typeof value === "object") return "a mapping";
  return typeof value;
}


/** The object keys `schema` allows at `path`, or undefined when any key is allowed (free maps). */
export function allowedKeysAt(schema: z.ZodType, path: FieldPath): string[] | undefined {
  let current = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodArray && typeof segment === "number") current = unwrap(current.element as z.ZodType);
    else if (current instanceof z.ZodObject && typeof segment === "string") {
      const next = (current.shape as Record<string, z.ZodType | undefined>)[segment];
      if (next === undefined) return undefined;
      current = unwrap(next);
    } else return undefined;
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
}

function messageFor(issue: z.core.$ZodIssue, raw: unknown): string {
  const given = valueAt(raw, issue.path as FieldPath);
  switch (issue.code) {
    case "invalid_type": {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (given === undefined) return `is required (${expected})`;
      return `expected ${expected}, got ${describeValue(given)}`;
    }
    case "invalid_value":
      return `must be one of: ${issue.values.map(String).join(", ")}; got ${describeValue(given)}`;
    case "too_small":
      return `must be ${issue.inclusive ? "at least" : "greater than"} ${String(issue.minimum)}; got ${describeValue(given)}`;
    case "too_big":
      return `must be ${issue.inclusive ? "at most" : "less than"} ${String(issue.maximum)}; got ${describeValue(given)}`;
    default:
      return issue.message;
  }
}

function withPosition(issue: Issue, path: FieldPath, locate?: Locate): Issue {
  const position = locate?.(path);
  return position === undefined ? issue : { ...issue, line: position.line, col: position.col };
}

/**
 * One Issue per problem; an unrecognized_keys issue becomes one Issue per unknown key. `at` is where `schema`'s value
 * sits in the spec (e.g. a provider's config at providers[0].spec): fields and positions are named from the spec's root.
 */
export function zodIssuesToIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], raw: unknown, locate?: Locate, at: FieldPath = []): Issue[] {
  return issues.flatMap((issue) => {
    const path = issue.path as FieldPath;
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(schema, path) ?? [];
      return issue.keys.map((key) => {
        const full = [...at, ...path, key];
        return withPosition({ field: formatPath(full), message: `unknown field \`${key}\`${suggestionSuffix(key, allowed)}` }, full, locate);
      });
    }
    const full = [...at, ...path];
    return [withPosition({ field: formatPath(full), message: messageFor(issue, raw) }, full, locate)];
  });
}
