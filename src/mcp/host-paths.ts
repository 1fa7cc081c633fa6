import { lstat, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { TestenvError } from "../errors.js";
import { directoryOption } from "./server-options.js";

// Which host files an agent may name in copy. Only the environment's artifact dir and the directories the server
// was started with (`--allow-host-path DIR`, TESTENV_VM_MCP_HOST_PATHS); never a directory from the agent's own
// arguments. Every check is made on real paths, so a symlink inside an allowed directory that points out of it is
// refused as much as `../..` is.

export const HOST_PATHS_ENV = "TESTENV_VM_MCP_HOST_PATHS";
const FLAG = "--allow-host-path";

/** The allowed directories from the server's argv (before `--`) and environment, absolute. */
export function hostPathsFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return directoryOption(argv, env, FLAG, HOST_PATHS_ENV);
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const real = await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)));
  return real.filter((root): root is string => root !== undefined);
}

/** The real path of `path`, or of its nearest existing ancestor with the missing rest appended. */
async function realOrNearest(path: string): Promise<string> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      missing.push(basename(current));
      current = parent;
    }
  }
}

function refused(hostPath: string, why: string, roots: readonly string[]): TestenvError {
  const message = `${JSON.stringify(hostPath)} ${why}; copy may use only the environment's artifact dir and the server's allowed directories (${roots.join(", ")})`;
  return new TestenvError("INPUT_INVALID", message, { issues: [{ field: "hostPath", message }] });
}

/**
 * The absolute host path for a copy, once it is known to stay inside an allowed directory. `read` paths must exist;
 * `write` paths may not exist yet, but must not be a symlink.
 */
export async function allowedHostPath(hostPath: string, artifactDir: string, allowed: readonly string[], mode: "read" | "write"): Promise<string> {
  if (hostPath.includes("\0")) throw refused(hostPath, "contains a NUL byte", [artifactDir, ...allowed]);
  const absolute = isAbsolute(hostPath) ? resolve(hostPath) : resolve(artifactDir, hostPath);
  const roots = await realRoots([artifactDir, ...allowed]);
  const shown = [artifactDir, ...allowed];
  if (!roots.some((root) => within(absolute, root)) && !shown.some((root) => within(absolute, resolve(root)))) {
    throw refused(hostPath, "is outside the allowed directories", shown);
  }
  const link = await lstat(absolute).catch(() => undefined);
  if (mode === "read" && !link) throw refused(hostPath, "does not exist", shown);
  if (mode === "write" && link?.isSymbolicLink()) throw refused(hostPath, "is a symlink, which copy never writes through", shown);
  const real = await realOrNearest(absolute);
  const root = roots.find((candidate) => within(real, candidate));
  if (root === undefined) throw refused(hostPath, `resolves to ${real} (through a symlink), outside the allowed directories`, shown);
  if (relative(root, real) === "") throw refused(hostPath, "is an allowed directory itself, not a file in it", shown);
  return real;
}
