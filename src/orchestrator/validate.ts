import type { ConfigValidateOutput } from "../../api/forge.js";
import { TestenvError, errorMessage } from "../errors.js";
import { parseSpec } from "../spec/load.js";
import { validateEarly } from "../spec/validate.js";
import { buildDag } from "./dag.js";

/** Phase 1 only: parse, validate, build the DAG. Never spawns a provider; every problem is returned, none thrown. */
export function validateSpec(rawSpec: unknown): ConfigValidateOutput {
  try {
    const spec = parseSpec(rawSpec);
    const issues = validateEarly(spec);
    if (issues.length > 0) return { valid: false, errors: issues.map(({ field, message }) => ({ field, message })) };
    buildDag(spec).phases();
    return { valid: true };
  } catch (error) {
    if (error instanceof TestenvError && error.issues.length > 0) {
      return { valid: false, errors: error.issues.map(({ field, message }) => ({ field, message })) };
    }
    return { valid: false, errors: [{ field: "spec", message: errorMessage(error) }] };
  }
}
