// Field paths as users read them: `vms[0].spec.memory`.

export type FieldPath = readonly (string | number)[];

export function formatPath(path: FieldPath, base = ""): string {
  let out = base;
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out === "" ? "spec" : out;
}

/** Inverse of formatPath for the simple paths this module builds (no dots or brackets inside keys). */
export function parsePath(text: string): (string | number)[] {
  if (text === "spec" || text === "") return [];
  const out: (string | number)[] = [];
  for (const part of text.split(".")) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null) {
      out.push(part);
      continue;
    }
    if (match[1] !== undefined && match[1] !== "") out.push(match[1]);
    for (const index of (match[2] ?? "").matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: FieldPath): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
