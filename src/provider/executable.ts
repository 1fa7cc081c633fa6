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

/** `which`: the first executable `name` in the PATH of `env`; relative PATH entries count from `cwd`. */
export function findInPath(name: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const entries = (env.PATH ?? "").split(delimiter).filter((entry) => entry !== "");
  for (const entry of entries) {
    const candidate = join(isAbsolute(entry) ? entry : join(cwd, entry), name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** How to start a provider process: `command` with `args` (which end with `--mcp`). */
export interface ResolvedEngine {
  command: string;
  args: string[];
}
