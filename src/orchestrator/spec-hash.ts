import { createHash } from "node:crypto";
import type { Spec } from "../../api/spec.js";

// A create with the same testID is idempotent only for the same spec: the hash stored in the state says which.

/** JSON with sorted keys and no undefined members, so that equal specs hash equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function hashSpec(spec: Spec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** `sha256:<hex>` of the canonical JSON of `value`: the form every hash of a plan takes. */
export function sha256Of(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonicalJson(value)).digest("hex")}`;
}
