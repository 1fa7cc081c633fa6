import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { defaultImageName } from "../../src/cli/commands/images.js";
import { startServer } from "../helpers/https-server.js";

const run = promisify(execFile);
const BIN = resolve("dist/src/bin.js");

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, env });
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

  it("prune --all keeps a downloaded image a VM disk still uses, says by whom, and removes it once the disk is gone", async () => {
    const dir = sandbox();
    const server = await startServer();
    try {
      const body = randomBytes(256 * 1024);
      server.route("/tiny.img", { body });
      writeFileSync(join(dir, "ca.pem"), server.ca);
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") };
      const cache = join(dir, "cache");
      const sha256 = createHash("sha256").update(body).digest("hex");
      const pulled = await cli(["images", "pull", `${server.origin}/tiny.img`, "--sha256", sha256, "--cache-dir", cache, "--json"], dir, env);
      expect(pulled.code, pulled.stderr).toBe(0);
      const cachedPath = (JSON.parse(pulled.stdout) as { images: Array<{ path: string }> }).images[0]!.path;

      // What the libvirt provider does for a VM disk, from a process of its own that has exited since (like a
      // provider after `create`): record the user, then make the overlay.
      const disk = join(dir, "vm", "disk.qcow2");
      mkdirSync(join(dir, "vm"));
      const record = `import { recordImageUser } from ${JSON.stringify(pathToFileURL(resolve("dist/lib/image-users.js")).href)};
await recordImageUser({ overlayPath: ${JSON.stringify(disk)}, basePath: ${JSON.stringify(cachedPath)}, usedBy: "libvirt VM tiny-1" });`;
      await run(process.execPath, ["--input-type=module", "-e", record]);
      await run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", cachedPath, "-F", "raw", disk]);

      const listed = await cli(["images", "list", "--cache-dir", cache], dir);
      expect(listed.stdout).toContain("\t1 VM disk\n");
      const kept = await cli(["images", "prune", "--all", "--cache-dir", cache, "--json"], dir);
      expect(kept.code, kept.stderr).toBe(0);
      expect(JSON.parse(kept.stdout)).toMatchObject({
        removed: [],
        kept: [{ name: "tiny.img", path: cachedPath, usedBy: [{ overlayPath: disk, usedBy: "libvirt VM tiny-1", state: "in use" }] }],
      });
      const text = await cli(["images", "prune", "--all", "--cache-dir", cache], dir);
      expect(text.stdout).toBe(`Nothing to prune\nkept tiny.img: used by ${disk} (libvirt VM tiny-1, stopped or running VM)\n`);
      expect(existsSync(cachedPath)).toBe(true);
      // The VM's disk still reads through to its base.
      await run("qemu-img", ["check", "-q", disk]);

      rmSync(disk);
      const pruned = await cli(["images", "prune", "--all", "--cache-dir", cache, "--json"], dir);
      expect(pruned.code, pruned.stderr).toBe(0);
      expect(JSON.parse(pruned.stdout)).toMatchObject({ removed: [{ path: cachedPath }], kept: [] });
      expect(existsSync(cachedPath)).toBe(false);
      expect(readdirSync(join(cache, "users"))).toEqual([]);
    } finally {
      await server.close();
    }
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
