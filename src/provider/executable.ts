import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/** True when `path` is a regular file this process may execute. */
export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `which`: the first executable `name` in the PATH of `env`. Relative PATH entries (and empty ones, which mean
 * ".") are ignored: they would let whatever folder a spec is run from put its own program in place of a provider.
 */
export function findInPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const entries = (env.PATH ?? "").split(delimiter).filter((entry) => isAbsolute(entry));
  for (const entry of entries) {
    const candidate = join(entry, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** How to start a provider process: `command` with `args` (which end with `--mcp`). */
export interface ResolvedEngine {
  command: string;
  args: string[];
}
