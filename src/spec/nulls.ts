import { z } from "zod";

// YAML turns an empty `keys:` into null. The original skipped null values, so an optional field given as
// null counts as absent here too; fields that accept null (`dhcp: null`) keep it.

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** A copy of `value` without null values for optional, non-nullable fields of `schema`. */
export function dropOptionalNulls(schema: z.ZodType, value: unknown): unknown {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodArray && Array.isArray(value)) return value.map((item) => dropOptionalNulls(inner.element as z.ZodType, item));
  if (!(inner instanceof z.ZodObject) || !isMapping(value)) return value;
  const shape = inner.shape as Record<string, z.ZodType | undefined>;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const field = shape[key];
    if (item === null && field !== undefined && field.safeParse(undefined).success && !field.safeParse(null).success) continue;
    out[key] = field === undefined ? item : dropOptionalNulls(field, item);
  }
  return out;
}
