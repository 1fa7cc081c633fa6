import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allowedHostPath, hostPathsFrom } from "../../../src/mcp/host-paths.js";

const root = mkdtempSync(join(tmpdir(), "testenv-host-paths-"));
const artifactDir = join(root, "artifacts");
const allowed = join(root, "allowed");
const outside = join(root, "outside");
for (const dir of [artifactDir, allowed, outside]) mkdirSync(dir, { recursive: true });
writeFileSync(join(artifactDir, "in.txt"), "in");
writeFileSync(join(outside, "secret"), "no");
symlinkSync(outside, join(artifactDir, "link-out"));
symlinkSync(join(artifactDir, "in.txt"), join(artifactDir, "link-in"));
symlinkSync(join(outside, "secret"), join(allowed, "secret-link"));

afterAll(() => rmSync(root, { recursive: true, force: true }));

const reason = (promise: Promise<unknown>): Promise<string> => promise.then(() => "(allowed)", (error: Error) => error.message);

describe("host paths copy may use", () => {
  it("come from --allow-host-path and TESTENV_VM_MCP_HOST_PATHS, never after --", () => {
    expect(hostPathsFrom(["--mcp", "--allow-host-path", "/a", "--allow-host-path=/b", "--", "--allow-host-path", "/c"], { TESTENV_VM_MCP_HOST_PATHS: "/d:/a" })).toEqual([
      "/a",
      "/b",
      "/d",
    ]);
    expect(hostPathsFrom(["--mcp"], {})).toEqual([]);
  });

  it("resolve relative paths in the artifact dir and accept the allowed directories", async () => {
    expect(await allowedHostPath("in.txt", artifactDir, [allowed], "read")).toBe(join(artifactDir, "in.txt"));
    expect(await allowedHostPath("link-in", artifactDir, [allowed], "read")).toBe(join(artifactDir, "in.txt"));
    expect(await allowedHostPath(join(allowed, "new/deep.txt"), artifactDir, [allowed], "write")).toBe(join(allowed, "new/deep.txt"));
  });

  it.each([
    ["../outside/secret", "read", /outside the allowed directories/],
    [join(outside, "secret"), "read", /outside the allowed directories/],
    ["link-out/secret", "read", /through a symlink/],
    ["link-out/new", "write", /through a symlink/],
    [join(allowed, "secret-link"), "read", /through a symlink/],
    [join(allowed, "secret-link"), "write", /is a symlink/],
    ["missing.txt", "read", /does not exist/],
    [allowed, "write", /allowed directory itself/],
    ["a\0b", "read", /NUL/],
  ] as const)("refuse %s (%s)", async (path, mode, expected) => {
    expect(await reason(allowedHostPath(path, artifactDir, [allowed], mode))).toMatch(expected);
  });
});
