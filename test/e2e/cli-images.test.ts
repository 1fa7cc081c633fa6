import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { defaultImageName } from "../../src/cli/commands/images.js";

const run = promisify(execFile);
const BIN = resolve("dist/src/bin.js");

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("testenv-vm images", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const sandbox = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "tvm-cli-images-"));
    dirs.push(dir);
    return dir;
  };

  it("pulls a local image into the cache, lists it with its digest, and prunes it", async () => {
    const dir = sandbox();
    writeFileSync(join(dir, "base.qcow2"), Buffer.alloc(4096, 7));
    const cache = join(dir, "cache");
    const pulled = await cli(["images", "pull", "base.qcow2", "--cache-dir", cache, "--json"], dir);
    expect(pulled.code).toBe(0);
    const { images } = JSON.parse(pulled.stdout) as { images: Array<{ name: string; sha256: string; size: number; path: string }> };
    expect(images[0]).toMatchObject({ name: "base.qcow2", size: 4096, path: join(dir, "base.qcow2") });
    expect(images[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);

    const listed = await cli(["images", "list", "--cache-dir", cache], dir);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("base.qcow2");

    const pruned = await cli(["images", "prune", "--all", "--cache-dir", cache, "--json"], dir);
    expect(pruned.code).toBe(0);
    expect((JSON.parse(pruned.stdout) as { removed: unknown[] }).removed).toHaveLength(1);
    expect((await cli(["images", "list", "--cache-dir", cache], dir)).stdout).toContain("No cached images");
    expect(existsSync(join(dir, "base.qcow2"))).toBe(true);
  });

  it("pulls every image of a spec", async () => {
    const dir = sandbox();
    writeFileSync(join(dir, "a.img"), "a");
    writeFileSync(
      join(dir, "forge.yaml"),
      "providers: [{name: stub, engine: testenv-vm-provider-stub}]\nimages:\n  - name: a\n    spec: {source: ./a.img, alias: base}\n",
    );
    const pulled = await cli(["images", "pull", "--spec", "forge.yaml", "--cache-dir", join(dir, "cache"), "--json"], dir);
    expect(pulled.code).toBe(0);
    expect((JSON.parse(pulled.stdout) as { images: Array<{ name: string }> }).images.map((i) => i.name)).toEqual(["a"]);
  });

  it("refuses bad input with a message that says what to do", async () => {
    const dir = sandbox();
    const noSub = await cli(["images"], dir);
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain("needs a subcommand: list, pull, prune");
    const noSum = await cli(["images", "pull", "https://images.invalid/x.img", "--cache-dir", join(dir, "cache")], dir);
    expect(noSum.code).not.toBe(0);
    expect(noSum.stderr).toContain("sha256");
    const badDays = await cli(["images", "prune", "--days", "soon", "--cache-dir", join(dir, "cache")], dir);
    expect(badDays.code).toBe(2);
    expect(badDays.stderr).toContain("--days");
  });

  it("names a pulled image after its source", () => {
    expect(defaultImageName("debian:12")).toBe("debian-12");
    expect(defaultImageName("https://cloud.example/images/noble.img?x=1")).toBe("noble.img");
    expect(defaultImageName("/var/lib/images/base.qcow2")).toBe("base.qcow2");
  });
});
