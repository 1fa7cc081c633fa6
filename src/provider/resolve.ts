import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { bundledProviderBins } from "./bundled.js";
import { TestenvError } from "../errors.js";
import { findInPath, isExecutableFile, type ResolvedEngine } from "./executable.js";
import { GO_SCHEME, resolveGoEngine } from "./go-engine.js";
import { packageRoot } from "../../lib/package.js";

export type { ResolvedEngine } from "./executable.js";

function spawnFailed(message: string, engine: string): TestenvError {
  return new TestenvError("PROVIDER_SPAWN_FAILED", message, { details: { engine } });
}

/** Turns a ProviderConfig.engine (path, bare command name or go:// URI) into a command line. */
export function resolveEngine(engine: string, options: { cwd: string; env: NodeJS.ProcessEnv }): ResolvedEngine {
  const trimmed = engine.trim();
  if (trimmed === "") throw spawnFailed("provider engine is empty; set engine to a binary path, a command name or a go:// URI", engine);
  if (trimmed.startsWith(GO_SCHEME)) return resolveGoEngine(trimmed, options);
  if (trimmed.includes("/") || trimmed.startsWith(".")) return resolvePath(trimmed, options.cwd);
  return resolveBareName(trimmed, options);
}

function resolvePath(engine: string, cwd: string): ResolvedEngine {
  const path = resolve(cwd, engine);
  if (!existsSync(path)) {
    throw spawnFailed(`binary "${engine}" not found: ${path} does not exist; build the provider or fix the engine path`, engine);
  }
  if (!isExecutableFile(path)) {
    throw spawnFailed(`binary "${engine}" is not an executable file (${path}); chmod +x it or fix the engine path`, engine);
  }
  return { command: path, args: ["--mcp"] };
}

/** A bundled provider's name always means the bundled one: a program of that name on PATH never shadows it. */
function resolveBareName(engine: string, options: { cwd: string; env: NodeJS.ProcessEnv }): ResolvedEngine {
  // Provider binaries shipped in this package come first: a program on PATH never shadows them.
  const own = bundledProviderBins()[engine];
  if (own === undefined) {
    const onPath = findInPath(engine, options.env, options.cwd);
    if (onPath !== undefined) return { command: onPath, args: ["--mcp"] };
  } else {
    const script = join(packageRoot(), own);
    if (!existsSync(script)) {
      throw spawnFailed(`binary "${engine}" not found: ${script} does not exist; run \`npm run build\` in ${packageRoot()}`, engine);
    }
    return { command: process.execPath, args: [script, "--mcp"] };
  }
  throw spawnFailed(
    `binary "${engine}" not found in PATH; install it, add its directory to PATH, or set engine to its path`,
    engine,
  );
}
