import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";

// Checks, before anything is made, that a path can be used as the directory or file it is meant to be, so the
// caller reports "X is a file" instead of a raw ENOTDIR/EISDIR/EEXIST from somewhere deeper.

function kindOf(path: string): "directory" | "file" | "missing" | "other" {
  try {
    const info = statSync(path);
    return info.isDirectory() ? "directory" : info.isFile() ? "file" : "other";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a component on the way is a file; the walk up finds it and says so.
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw error;
  }
}

/** The nearest existing ancestor of a missing path must be a directory for the path to be created. */
function ancestorProblem(path: string): string | undefined {
  let current = dirname(path);
  for (;;) {
    const kind = kindOf(current);
    if (kind === "directory") return undefined;
    if (kind !== "missing") return `${current} (on the way to ${path}) is a ${kind === "file" ? "file" : "special file"}, not a directory`;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** Why `path` cannot be used as a directory (it, or an ancestor, exists and is not one); undefined when it can. */
export function directoryProblem(path: string): string | undefined {
  const absolute = resolve(path);
  const kind = kindOf(absolute);
  if (kind === "directory") return undefined;
  if (kind === "missing") return ancestorProblem(absolute);
  return `${absolute} is a ${kind === "file" ? "file" : "special file"}, not a directory`;
}

/** Why `path` cannot be used as a regular file (it is a directory, or an ancestor is not one); undefined when it can. */
export function fileProblem(path: string): string | undefined {
  const absolute = resolve(path);
  const kind = kindOf(absolute);
  if (kind === "file") return undefined;
  if (kind === "missing") return ancestorProblem(absolute);
  return `${absolute} is a ${kind === "directory" ? "directory" : "special file"}, not a file`;
}

/**
 * Why something cannot be made at `path`: its nearest existing ancestor is not a directory. What `path` itself is
 * (missing, a file, a directory) is the caller's to judge; undefined when nothing on the way is in the way.
 */
export function creatableProblem(path: string): string | undefined {
  return ancestorProblem(resolve(path));
}
