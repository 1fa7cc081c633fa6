import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import { packageRoot } from "../../../lib/package.js";
import { resolveEngine } from "../../../src/provider/resolve.js";

let dir: string;
let binDir: string;

function executable(path: string): string {
  writeFileSync(path, "#!/bin/sh\nexit 0\n");
  chmodSync(path, 0o755);
  return path;
}

function resolveError(engine: string, env: NodeJS.ProcessEnv, cwd = dir): TestenvError {
  try {
    resolveEngine(engine, { cwd, env });
  } catch (error) {
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("PROVIDER_SPAWN_FAILED");
    return error as TestenvError;
  }
  throw new Error(`resolveEngine(${engine}) did not fail`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "resolve-"));
  binDir = join(dir, "bin");
  mkdirSync(binDir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveEngine: paths", () => {
  it("resolves a relative path against cwd and appends --mcp", () => {
    const provider = executable(join(binDir, "my-provider"));
    expect(resolveEngine("./bin/my-provider", { cwd: dir, env: {} })).toEqual({ command: provider, args: ["--mcp"] });
    expect(resolveEngine(provider, { cwd: "/", env: {} })).toEqual({ command: provider, args: ["--mcp"] });
  });

  it("names the engine when the path does not exist", () => {
    const error = resolveError("./build/bin/testenv-vm-provider-x", {});
    expect(error.message).toContain('binary "./build/bin/testenv-vm-provider-x" not found');
    expect(error.message).toContain(join(dir, "build/bin/testenv-vm-provider-x"));
  });

  it("refuses a file that is not executable", () => {
    writeFileSync(join(binDir, "plain"), "x");
    expect(resolveError("./bin/plain", {}).message).toMatch(/not an executable file.*chmod \+x/);
  });
});

describe("resolveEngine: bare names", () => {
  it("finds a command on PATH", () => {
    const provider = executable(join(binDir, "acme-provider"));
    expect(resolveEngine("acme-provider", { cwd: dir, env: { PATH: `/nonexistent:${binDir}` } })).toEqual({ command: provider, args: ["--mcp"] });
  });

  // Issue 16: the engine policy puts the bundled providers first; a same-named program on PATH never shadows them.
  it("prefers the package's own bins over PATH", () => {
    executable(join(binDir, "testenv-vm-provider-stub"));
    expect(resolveEngine("testenv-vm-provider-stub", { cwd: dir, env: { PATH: binDir } }).command).toBe(process.execPath);
  });

  it("ignores relative and empty PATH entries", () => {
    executable(join(binDir, "acme-provider"));
    for (const PATH of ["bin", "./bin", ":bin", ""]) expect(resolveError("acme-provider", { PATH }).message).toContain("not found in PATH");
  });

  it("falls back to this package's own provider bins, run with this node", () => {
    const script = join(packageRoot(), "dist", "providers", "stub", "bin.js");
    try {
      expect(resolveEngine("testenv-vm-provider-stub", { cwd: dir, env: { PATH: "" } })).toEqual({ command: process.execPath, args: [script, "--mcp"] });
    } catch (error) {
      // Not built yet: the error says where it looked and what to run.
      expect((error as Error).message).toContain(script);
      expect((error as Error).message).toContain("npm run build");
    }
  });

  it("fails for an unknown name with what to do", () => {
    expect(resolveError("no-such-provider", { PATH: binDir }).message).toBe(
      'binary "no-such-provider" not found in PATH; install it, add its directory to PATH, or set engine to its path',
    );
  });

  it("rejects an empty engine", () => {
    expect(resolveError("  ", {}).message).toContain("provider engine is empty");
  });
});

describe("resolveEngine: go://", () => {
  let go: string;
  beforeEach(() => {
    go = executable(join(binDir, "go"));
  });

  it("runs an external module at latest by default", () => {
    expect(resolveEngine("go://github.com/acme/tool/cmd/provider", { cwd: dir, env: { PATH: binDir } })).toEqual({
      command: go,
      args: ["run", "github.com/acme/tool/cmd/provider@latest", "--mcp"],
    });
  });

  it("keeps the version and strips -dirty/+dirty", () => {
    const env = { PATH: binDir };
    expect(resolveEngine("go://github.com/acme/tool/cmd/p@v1.2.3", { cwd: dir, env }).args[1]).toBe("github.com/acme/tool/cmd/p@v1.2.3");
    expect(resolveEngine("go://github.com/acme/tool/cmd/p@v1.2.3-dirty", { cwd: dir, env }).args[1]).toBe("github.com/acme/tool/cmd/p@v1.2.3");
    expect(resolveEngine("go://github.com/acme/tool/cmd/p@v0.0.0+dirty", { cwd: dir, env }).args[1]).toBe("github.com/acme/tool/cmd/p@v0.0.0");
  });

  it("runs a go.work member locally when FORGE_RUN_LOCAL_ENABLED=true", () => {
    const workspace = join(dir, "ws");
    mkdirSync(join(workspace, "tool"), { recursive: true });
    mkdirSync(join(workspace, "app", "sub"), { recursive: true });
    writeFileSync(join(workspace, "go.work"), "go 1.22\n\nuse (\n\t./tool // the provider\n\t./app\n)\n");
    writeFileSync(join(workspace, "tool", "go.mod"), "module github.com/acme/tool\n\ngo 1.22\n");
    writeFileSync(join(workspace, "app", "go.mod"), "module example.com/app\n");
    const cwd = join(workspace, "app", "sub");
    const local = { PATH: binDir, FORGE_RUN_LOCAL_ENABLED: "true" };
    expect(resolveEngine("go://github.com/acme/tool/cmd/provider@v1.0.0", { cwd, env: local }).args).toEqual(["run", "github.com/acme/tool/cmd/provider", "--mcp"]);
    // Not a member: remote, at the requested version.
    expect(resolveEngine("go://github.com/other/tool/cmd/p@v2.0.0", { cwd, env: local }).args).toEqual(["run", "github.com/other/tool/cmd/p@v2.0.0", "--mcp"]);
    // A prefix that is not a path boundary is not membership.
    expect(resolveEngine("go://github.com/acme/toolbox/cmd/p", { cwd, env: local }).args[1]).toBe("github.com/acme/toolbox/cmd/p@latest");
    // Without FORGE_RUN_LOCAL_ENABLED the workspace is ignored.
    expect(resolveEngine("go://github.com/acme/tool/cmd/provider", { cwd, env: { PATH: binDir } }).args[1]).toBe("github.com/acme/tool/cmd/provider@latest");
  });

  it("runs an internal path with FORGE_RUN_LOCAL_ENABLED=true", () => {
    expect(resolveEngine("go://cmd/providers/testenv-vm-provider-stub", { cwd: dir, env: { PATH: binDir, FORGE_RUN_LOCAL_ENABLED: "true" } })).toEqual({
      command: go,
      args: ["run", "./cmd/providers/testenv-vm-provider-stub", "--mcp"],
    });
  });

  it("rejects internal paths with a version, or without FORGE_RUN_LOCAL_ENABLED, with the original's messages", () => {
    expect(resolveError("go://cmd/providers/x@v1.0.0", { PATH: binDir, FORGE_RUN_LOCAL_ENABLED: "true" }).message).toBe(
      'go engine "go://cmd/providers/x@v1.0.0": version specifiers are not supported for internal packages; remove @v or use full external path',
    );
    expect(resolveError("go://cmd/providers/x", { PATH: binDir }).message).toBe(
      'go engine "go://cmd/providers/x": internal package requires FORGE_RUN_LOCAL_ENABLED=true or use full external path (e.g., go://github.com/user/repo/cmd/tool@version)',
    );
  });

  it("says so when the go toolchain is missing", () => {
    expect(resolveError("go://github.com/acme/tool/cmd/p", { PATH: join(dir, "empty") }).message).toContain("the go toolchain was not found in PATH");
  });
});
