import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { TestenvError } from "../../../src/errors.js";
import { ImageCache } from "../../../src/image/cache.js";
import { customizationJson, customizationKey } from "../../../src/image/customize.js";

const run = promisify(execFile);
const digest = "a".repeat(64);

describe("customization key", () => {
  it("is stable for the same base digest and customization, and changes with either", () => {
    const key = customizationKey(digest, { packages: ["nginx", "curl"], runcmd: ["echo hi"] });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(customizationKey(digest.toUpperCase(), { runcmd: ["echo hi"], packages: ["nginx", "curl"] })).toBe(key);
    expect(customizationKey(digest, { packages: ["nginx", "curl"], runcmd: ["echo hi"] })).toBe(key);
    expect(customizationKey("b".repeat(64), { packages: ["nginx", "curl"], runcmd: ["echo hi"] })).not.toBe(key);
    expect(customizationKey(digest, { packages: ["curl", "nginx"], runcmd: ["echo hi"] })).not.toBe(key);
    expect(customizationKey(digest, { packages: ["nginx", "curl"] })).not.toBe(key);
  });

  it("ignores empty lists, so packages: [] means the same as no packages", () => {
    expect(customizationJson({ packages: [], runcmd: ["x"] })).toBe('{"runcmd":["x"]}');
    expect(customizationKey(digest, { packages: [], runcmd: ["x"] })).toBe(customizationKey(digest, { runcmd: ["x"] }));
  });
});

describe("customize", () => {
  let work: string;
  let base: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), "testenv-customize-"));
    base = join(work, "base.qcow2");
    await run("qemu-img", ["create", "-q", "-f", "qcow2", base, "64M"]);
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("without virt-customize, fails before any work and names the package to install", async () => {
    const cache = new ImageCache({ cacheDir: join(work, "cache"), env: { PATH: join(work, "empty-bin") } });
    const error = await cache
      .ensure({ name: "web", spec: { source: base, customize: { packages: ["nginx"] } } })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("IMAGE_ERROR");
    expect((error as TestenvError).message).toContain("image web: customize needs virt-customize, which is not in PATH; install the libguestfs-tools package");
    expect(await cache.list()).toEqual([]);
  });

  it("rejects a package name that could smuggle options into virt-customize", async () => {
    const cache = new ImageCache({ cacheDir: join(work, "cache") });
    await expect(cache.ensure({ name: "w", spec: { source: base, customize: { packages: ["a,--run=/x"] } } })).rejects.toThrow(
      /customize.packages entry "a,--run=\/x" is not a package name/,
    );
  });

  it("builds the overlay once over the cached base and reuses it (virt-customize stand-in)", async () => {
    // virt-customize is not installed here; a stand-in records its argv so the real qemu-img overlay,
    // the arguments and the caching around it are still exercised.
    const bin = join(work, "bin");
    await run("mkdir", ["-p", bin]);
    const argsLog = join(work, "virt-customize.args");
    await writeFile(join(bin, "virt-customize"), `#!/bin/sh\nprintf '%s\\n' "$LIBGUESTFS_BACKEND" "$@" >> '${argsLog}'\n`);
    await chmod(join(bin, "virt-customize"), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` };
    const cache = new ImageCache({ cacheDir: join(work, "cache"), env });
    const spec = { source: base, customize: { packages: ["nginx", "curl"], runcmd: ["echo 'hi there'"] } };

    const first = await cache.ensure({ name: "web", spec });
    expect(first.path).toMatch(/custom-[0-9a-f]{12}\.qcow2$/);
    const info = JSON.parse((await run("qemu-img", ["info", "--output=json", first.path])).stdout);
    expect(info["backing-filename"]).toBe(base);
    expect((await readFile(argsLog, "utf8")).split("\n")).toEqual(["direct", "-a", `${first.path}.partial`, "--install", "nginx,curl", "--run-command", "echo 'hi there'", ""]);

    const second = await cache.ensure({ name: "web", spec });
    expect(second.path).toBe(first.path);
    expect((await readFile(argsLog, "utf8")).split("\n").filter((l) => l === "-a")).toHaveLength(1);
    expect((await cache.list()).map((e) => e.path).sort()).toEqual([base, first.path].sort());

    // A changed base makes a new overlay; prune then drops the one built on the old bytes.
    await run("qemu-img", ["resize", "-q", base, "128M"]);
    const rebuilt = await cache.ensure({ name: "web", spec });
    expect(rebuilt.path).not.toBe(first.path);
    const { removed } = await cache.prune();
    expect(removed.map((e) => e.path)).toEqual([first.path]);
    expect((await cache.list()).map((e) => e.path).sort()).toEqual([base, rebuilt.path].sort());
  });
});
