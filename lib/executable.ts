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

/**
 * Absolute PATH entries only. Relative ones (and empty ones, which mean ".") would let whatever folder a spec is run
 * from put its own program in place of a provider.
 */
function pathEntries(env: NodeJS.ProcessEnv): string[] {
  return (env.PATH ?? "").split(delimiter).filter((entry) => isAbsolute(entry));
}

/** `which`: the first executable `name` in the absolute PATH entries of `env`. */
export function findInPath(name: string, env: NodeJS.ProcessEnv = process.env, _cwd?: string): string | undefined {
  for (const entry of pathEntries(env)) {
    const candidate = join(entry, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Every executable on PATH whose name starts with `prefix`, the first of each name (as the shell would pick it). */
export function findAllInPath(prefix: string, env: NodeJS.ProcessEnv = process.env, _cwd?: string): Array<{ name: string; path: string }> {
  const found = new Map<string, string>();
  for (const entry of pathEntries(env)) {
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
