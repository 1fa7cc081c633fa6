import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { useHttpsServer } from "../helpers/https-suite.js";

// Separate node processes using the built cache, as two `testenv-vm create` runs on one host would.

const CACHE_MODULE = pathToFileURL(resolve("dist/src/image/cache.js")).href;
const CHILD = `
const [cacheDir, url, sha256, caPath] = process.argv.slice(1);
const { ImageCache } = await import(${JSON.stringify(CACHE_MODULE)});
const { readFileSync } = await import("node:fs");
const cache = new ImageCache({ cacheDir, ca: readFileSync(caPath), retries: 2, retryBaseMs: 50 });
const image = await cache.ensure({ name: "shared", spec: { source: url, sha256 } });
process.stdout.write(JSON.stringify(image));
`;

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startChild(args: string[]): { child: ChildProcess; done: Promise<ChildResult> } {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolveDone) => child.once("close", (code) => resolveDone({ code, stdout, stderr })));
  return { child, done };
}

const server = useHttpsServer();
let work: string;
let caPath: string;
const body = randomBytes(4 * 1024 * 1024);
// Files are compared by digest: deep equality of MiB buffers takes vitest tens of seconds.
const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const digest = sha256(body);

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "testenv-image-proc-"));
  caPath = join(work, "ca.pem");
  await writeFile(caPath, server.ca);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("image cache across processes", () => {
  it("two processes pulling the same image at once download it once and get the same file", async () => {
    // ~5 s of transfer so the second process arrives while the first holds the lock, even on a busy host.
    server.route("/shared.img", { body, chunkDelayMs: 80 });
    const args = [join(work, "cache"), `${server.origin}/shared.img`, digest, caPath];
    const [a, b] = await Promise.all([startChild(args).done, startChild(args).done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const first = JSON.parse(a.stdout) as { path: string; sha256: string };
    const second = JSON.parse(b.stdout) as { path: string; sha256: string };
    expect(second.path).toBe(first.path);
    expect(first.sha256).toBe(digest);
    expect(sha256(await readFile(first.path))).toBe(sha256(body));
    expect(server.hitsFor("/shared.img")).toHaveLength(1);
    expect(`${a.stderr}${b.stderr}`).toContain("another process is fetching");
  });

  it("a process killed mid-download neither wedges the lock nor wastes the bytes: the next one resumes", async () => {
    server.route("/killed.img", { body, chunkDelayMs: 100 });
    const args = [join(work, "cache"), `${server.origin}/killed.img`, digest, caPath];
    const victim = startChild(args);
    while (server.hitsFor("/killed.img").length === 0) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1_000));
    victim.child.kill("SIGKILL");
    await victim.done;

    // Its lock is left behind; the next process takes it over once stale, then resumes with Range.
    const next = await startChild(args).done;
    expect(next.code, next.stderr).toBe(0);
    const result = JSON.parse(next.stdout) as { path: string };
    expect(sha256(await readFile(result.path))).toBe(sha256(body));
    const hits = server.hitsFor("/killed.img");
    expect(hits).toHaveLength(2);
    expect(hits[1]!.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });
});
