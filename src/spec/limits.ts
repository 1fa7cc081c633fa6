import type { Issue } from "../errors.js";
import { formatPath, type FieldPath } from "./paths.js";

// Limits that protect the host from a spec that is too big to handle: each is checked before the spec is parsed
// further, and each breach is a SPEC_INVALID issue naming the field (docs/reliability.md lists them).

export const SPEC_LIMITS = {
  /** Size of a spec file or of the spec text, in bytes. */
  maxSpecBytes: 4 * 1024 * 1024,
  /** Nesting of maps and lists; the deepest field of the schema is 9 levels down. */
  maxDepth: 64,
  /** Keys, networks, VMs, images and providers together. */
  maxResources: 2000,
  /** Any one string (a cloud-init file's content is the longest a real spec has). */
  maxStringLength: 256 * 1024,
  /** YAML aliases resolved in one document (an alias bomb expands exponentially). */
  maxAliases: 100,
} as const;

/** Reported at most, so that a hostile input cannot make the error itself huge. */
const MAX_ISSUES = 20;

const SECTIONS = ["providers", "images", "keys", "networks", "vms"] as const;

/** A key that JavaScript objects treat as their prototype: refused, never silently dropped. */
export const FORBIDDEN_KEY = "__proto__";

export function forbiddenKeyIssue(path: FieldPath): Issue {
  return { field: formatPath(path), message: `the key ${FORBIDDEN_KEY} is not allowed (it would change the object's prototype, not set a field)` };
}

/**
 * What is wrong with a raw spec before zod sees it: nesting, string lengths, `__proto__` keys and the resource
 * count. Iterative, so a deeply nested input cannot overflow the stack here.
 */
export function rawSpecIssues(raw: unknown): Issue[] {
  const issues: Issue[] = [];
  const stack: Array<{ value: unknown; path: FieldPath }> = [{ value: raw, path: [] }];
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { value, path } = stack.pop() as { value: unknown; path: FieldPath };
    if (typeof value === "string") {
      if (value.length > SPEC_LIMITS.maxStringLength) {
        issues.push({ field: formatPath(path), message: `the string is ${value.length} characters long; the limit is ${SPEC_LIMITS.maxStringLength}` });
      }
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (path.length >= SPEC_LIMITS.maxDepth) {
      issues.push({ field: formatPath(path), message: `the spec is nested more than ${SPEC_LIMITS.maxDepth} levels deep here; that is the limit` });
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => stack.push({ value: item, path: [...path, index] }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === FORBIDDEN_KEY) issues.push(forbiddenKeyIssue([...path, key]));
      else stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    const record = raw as Record<string, unknown>;
    const count = SECTIONS.reduce((sum, section) => sum + (Array.isArray(record[section]) ? (record[section] as unknown[]).length : 0), 0);
    if (count > SPEC_LIMITS.maxResources) {
      issues.push({ field: "spec", message: `the spec declares ${count} providers, images, keys, networks and VMs; the limit is ${SPEC_LIMITS.maxResources}` });
    }
  }
  return issues;
}
