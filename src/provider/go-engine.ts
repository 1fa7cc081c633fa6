import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { TestenvError } from "../errors.js";
import { findInPath } from "./executable.js";
import type { ResolvedEngine } from "./executable.js";

// go:// engines, resolved exactly like the original (contract §1.5 and §12), so specs written for it keep working.

export const GO_SCHEME = "go://";

interface GoEngineRef {
  path: string;
  version: string | undefined;
  external: boolean;
}

export function parseGoEngine(engine: string): GoEngineRef {
  const rest = engine.slice(GO_SCHEME.length);
  const at = rest.lastIndexOf("@");
  const path = at === -1 ? rest : rest.slice(0, at);
  const version = at === -1 ? undefined : rest.slice(at + 1);
  const firstSegment = path.split("/")[0] ?? "";
  const external = !path.startsWith("./") && !path.startsWith("../") && firstSegment.includes(".");
  return { path, version: version === "" ? undefined : version, external };
}

function spawnFailed(message: string, engine: string): TestenvError {
  return new TestenvError("PROVIDER_SPAWN_FAILED", message, { details: { engine } });
}

export function resolveGoEngine(engine: string, options: { cwd: string; env: NodeJS.ProcessEnv }): ResolvedEngine {
  const ref = parseGoEngine(engine);
  if (ref.path === "") throw spawnFailed(`go engine "${engine}": empty module path; use go://<module path>[@version]`, engine);
  const runLocal = options.env.FORGE_RUN_LOCAL_ENABLED === "true";
  let args: string[];
  if (ref.external) {
    if (runLocal && isWorkspaceMember(ref.path, options.cwd, options.env)) {
      args = ["run", ref.path, "--mcp"];
    } else {
      args = ["run", `${ref.path}@${stripDirty(ref.version ?? "latest")}`, "--mcp"];
    }
  } else {
    if (ref.version !== undefined) {
      throw spawnFailed(
        `go engine "${engine}": version specifiers are not supported for internal packages; remove @v or use full external path`,
        engine,
      );
    }
    if (!runLocal) {
      throw spawnFailed(
        `go engine "${engine}": internal package requires FORGE_RUN_LOCAL_ENABLED=true or use full external path (e.g., go://github.com/user/repo/cmd/tool@version)`,
        engine,
      );
    }
    args = ["run", `./${ref.path.replace(/^\.\//, "")}`, "--mcp"];
  }
  const go = findInPath("go", options.env);
  if (go === undefined) {
    throw spawnFailed(`go engine "${engine}": the go toolchain was not found in PATH; install Go or point engine at a provider binary`, engine);
  }
  return { command: go, args };
}

function stripDirty(version: string): string {
  return version.replace(/[-+]dirty$/, "");
}

/** Whether the nearest go.work above cwd `use`s a module whose path is a prefix of `modulePath`. */
export function isWorkspaceMember(modulePath: string, cwd: string, env: NodeJS.ProcessEnv): boolean {
  const workFile = findGoWork(cwd, env);
  if (workFile === undefined) return false;
  const base = dirname(workFile);
  for (const dir of goWorkUses(readFileSync(workFile, "utf8"))) {
    const goMod = join(isAbsolute(dir) ? dir : resolve(base, dir), "go.mod");
    if (!existsSync(goMod)) continue;
    const declared = /^\s*module\s+("?)([^\s"]+)\1/m.exec(readFileSync(goMod, "utf8"))?.[2];
    if (declared !== undefined && (modulePath === declared || modulePath.startsWith(`${declared}/`))) return true;
  }
  return false;
}

function findGoWork(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  const explicit = env.GOWORK;
  if (explicit === "off") return undefined;
  if (explicit !== undefined && explicit !== "") return existsSync(explicit) ? resolve(cwd, explicit) : undefined;
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, "go.work");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The directories of `use` directives, single-line and block form. */
export function goWorkUses(source: string): string[] {
  const uses: string[] = [];
  const withoutComments = source.replace(/\/\/.*$/gm, "");
  for (const match of withoutComments.matchAll(/^\s*use\s*\(([^)]*)\)/gm)) {
    for (const line of (match[1] ?? "").split("\n")) {
      const dir = unquote(line.trim());
      if (dir !== "") uses.push(dir);
    }
  }
  for (const match of withoutComments.matchAll(/^\s*use\s+([^\s(][^\n]*)$/gm)) {
    const dir = unquote((match[1] ?? "").trim());
    if (dir !== "") uses.push(dir);
  }
  return uses;
}

function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, "$1").replace(/^`(.*)`$/, "$1");
}
