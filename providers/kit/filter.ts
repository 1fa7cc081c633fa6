import { invalidSpec } from "./errors.js";

// ListRequest.filter, the same for every provider: each pair must equal a top-level field of the state.
// Only scalars can be compared this way; anything else is refused rather than silently matching nothing.

type Scalar = string | number | boolean;

function isScalar(value: unknown): value is Scalar {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** INVALID_SPEC naming `filter.<field>` when a filter value is not a string, number or boolean. */
export function checkListFilter(filter: Record<string, unknown> | undefined): void {
  for (const [field, value] of Object.entries(filter ?? {})) {
    if (!isScalar(value)) {
      throw invalidSpec(`filter.${field}: filter values are compared for equality with top-level fields, so they must be a string, number or boolean (got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value})`);
    }
  }
}

export function matchesListFilter(state: unknown, filter: Record<string, unknown> | undefined): boolean {
  if (filter === undefined) return true;
  const record = typeof state === "object" && state !== null ? (state as Record<string, unknown>) : {};
  return Object.entries(filter).every(([field, value]) => Object.hasOwn(record, field) && record[field] === value);
}

export function applyListFilter<S>(states: readonly S[], filter: Record<string, unknown> | undefined): S[] {
  return states.filter((state) => matchesListFilter(state, filter));
}
