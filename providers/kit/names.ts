import { invalidSpec } from "./errors.js";

// Names that reach the provider's tools, the kernel or the file system. Provider-level names come from the orchestrator
// as `<prefix>-<name>`; they still get checked because they end up in paths and argv.

const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Whether `name` is one the provider could have made (the check below, as a question). */
export function isResourceName(name: string): boolean {
  return RESOURCE_NAME.test(name) && !name.includes("..");
}

/** Rejects names that could escape a directory or confuse the provider's tools. */
export function checkResourceName(kind: string, name: string): string {
  if (!isResourceName(name)) {
    throw invalidSpec(`${kind} name "${name}" must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return name;
}
