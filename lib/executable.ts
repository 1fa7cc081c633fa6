import { accessSync, constants, readdirSync, statSync } from "node:fs";
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

function pathEntries(env: NodeJS.ProcessEnv, cwd: string): string[] {
  return (env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => entry !== "")
    .map((entry) => (isAbsolute(entry) ? entry : join(cwd, entry)));
}

/** `which`: the first executable `name` in the PATH of `env`; relative PATH entries count from `cwd`. */
export function findInPath(name: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  for (const entry of pathEntries(env, cwd)) {
    const candidate = join(entry, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Every executable on PATH whose name starts with `prefix`, the first of each name (as the shell would pick it). */
export function findAllInPath(prefix: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Array<{ name: string; path: string }> {
  const found = new Map<string, string>();
  for (const entry of pathEntries(env, cwd)) {
    let names: string[];
    try {
      names = readdirSync(entry);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (!name.startsWith(prefix) || found.has(name)) continue;
      const path = join(entry, name);
      if (isExecutableFile(path)) found.set(name, path);
    }
  }
  return [...found].map(([name, path]) => ({ name, path }));
}
