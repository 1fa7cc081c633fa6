import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { ImageResource } from "../../../api/spec.js";
import { TestenvError } from "../../../src/errors.js";
import { createLogger } from "../../../lib/log.js";
import { type ImageProgress, ImageCache } from "../../../src/image/cache.js";
import { useHttpsServer } from "../../helpers/https-suite.js";

// Files are compared by digest: deep equality of MiB buffers takes vitest tens of seconds.
const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const image = (source: string, sum?: string, name = "base"): ImageResource => ({ name, spec: { source, ...(sum ? { sha256: sum } : {}) } });

const server = useHttpsServer();
let cacheDir: string;
const body = randomBytes(1024 * 1024 + 123);
const digest = sha256(body);

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), "testenv-image-"));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

function cache(extra: Partial<ConstructorParameters<typeof ImageCache>[0]> = {}): ImageCache {
  return new ImageCache({ cacheDir, ca: server.ca, retries: 2, retryBaseMs: 10, fetchTimeoutMs: 5_000, ...extra });
}

async function rejection(promise: Promise<unknown>): Promise<TestenvError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TestenvError);
  return error as TestenvError;
}

describe("ImageCache downloads", () => {
  it("downloads on a miss, serves the same verified file on a hit without a second request", async () => {
    server.route("/img.qcow2", { body });
    const first = await cache().ensure(image(`${server.origin}/img.qcow2`, digest));
    expect(first.sha256).toBe(digest);
    expect(first.size).toBe(body.length);
    expect(first.resolvedUrl).toBe(`${server.origin}/img.qcow2`);
    expect(first.path.startsWith(cacheDir)).toBe(true);
    expect(sha256(await readFile(first.path))).toBe(sha256(body));
    expect((await stat(first.path)).mode & 0o777).toBe(0o644);

    const second = await cache().ensure(image(`${server.origin}/img.qcow2`, digest, "renamed"));
    expect(second.path).toBe(first.path);
    expect(second.name).toBe("renamed");
    expect(server.hitsFor("/img.qcow2")).toHaveLength(1);
  });

  it("accepts the sha256 in upper case or with a sha256: prefix", async () => {
    server.route("/case.img", { body });
    const result = await cache().ensure(image(`${server.origin}/case.img`, `sha256:${digest.toUpperCase()}`));
    expect(result.sha256).toBe(digest);
  });

  it("on a checksum mismatch removes the download and says what was expected and what came", async () => {
    server.route("/bad.img", { body });
    const wrong = "0".repeat(64);
    const error = await rejection(cache().ensure(image(`${server.origin}/bad.img`, wrong)));
    expect(error.code).toBe("IMAGE_ERROR");
    expect(error.message).toContain(`image base: checksum mismatch for ${server.origin}/bad.img: expected ${wrong}, got ${digest}`);
    expect(await filesIn(cacheDir)).toEqual([]);
    expect(await cache().list()).toEqual([]);
  });

  it("retries a 500 and then succeeds", async () => {
    server.route("/flaky.img", { body, plan: [{ status: 500 }, { status: 503 }] });
    const result = await cache().ensure(image(`${server.origin}/flaky.img`, digest));
    expect(result.sha256).toBe(digest);
    expect(server.hitsFor("/flaky.img").map((h) => h.status)).toEqual([500, 503, 200]);
  });

  it("gives up after the configured retries with the URL and the last error", async () => {
    server.route("/down.img", { body, plan: [{ status: 502 }, { status: 502 }, { status: 502 }] });
    const error = await rejection(cache({ retries: 1 }).ensure(image(`${server.origin}/down.img`, digest)));
    expect(error.message).toContain(`download of ${server.origin}/down.img failed after 2 attempts: HTTP 502`);
    expect(error.retryable).toBe(true);
    expect(server.hitsFor("/down.img")).toHaveLength(2);
  });

  it("does not retry a 404 and names the URL and status", async () => {
    const error = await rejection(cache().ensure(image(`${server.origin}/missing.img`, digest)));
    expect(error.message).toContain(`download of ${server.origin}/missing.img failed: HTTP 404`);
    expect(error.message).toContain("not retried");
    expect(server.hitsFor("/missing.img")).toHaveLength(1);
  });

  it("resumes an interrupted download with Range in the next attempt", async () => {
    server.route("/cut.img", { body, plan: [{ cutAfter: 300 * 1024 }] });
    const result = await cache().ensure(image(`${server.origin}/cut.img`, digest));
    expect(result.sha256).toBe(digest);
    expect(sha256(await readFile(result.path))).toBe(sha256(body));
    const hits = server.hitsFor("/cut.img");
    expect(hits).toHaveLength(2);
    expect(hits[0]!.headers.range).toBeUndefined();
    expect(hits[1]!.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(hits[1]!.headers["if-range"]).toBe(`"${body.length}-v1"`);
  });

  it("resumes a partial left by an earlier run (another process, or after Ctrl-C)", async () => {
    server.route("/later.img", { body, plan: [{ cutAfter: 512 * 1024 }] });
    const error = await rejection(cache({ retries: 0 }).ensure(image(`${server.origin}/later.img`, digest)));
    expect(error.message).toContain("failed after 1 attempts");
    expect((await filesIn(cacheDir)).some((f) => f.endsWith(".partial"))).toBe(true);
    expect(await cache().list()).toEqual([]);

    const result = await cache().ensure(image(`${server.origin}/later.img`, digest));
    expect(sha256(await readFile(result.path))).toBe(sha256(body));
    expect(server.hitsFor("/later.img")[1]!.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect((await filesIn(cacheDir)).some((f) => f.endsWith(".partial"))).toBe(false);
  });

  it("gives up on a stalled transfer after fetchTimeoutMs and resumes it", async () => {
    server.route("/stall.img", { body, plan: [{ stallAfter: 128 * 1024 }] });
    const warnings: string[] = [];
    const log = { ...createLogger("test"), warn: (message: string) => void warnings.push(message) };
    const result = await cache({ fetchTimeoutMs: 500, log }).ensure(image(`${server.origin}/stall.img`, digest));
    expect(warnings.join("\n")).toContain(`no data from ${server.origin}/stall.img for 500 ms`);
    expect(sha256(await readFile(result.path))).toBe(digest);
    expect(server.hitsFor("/stall.img")[1]!.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it("restarts from zero when the server has no validator to resume against", async () => {
    server.route("/noetag.img", { body, etag: false, ranges: false, plan: [{ cutAfter: 256 * 1024 }] });
    const result = await cache().ensure(image(`${server.origin}/noetag.img`, digest));
    expect(sha256(await readFile(result.path))).toBe(sha256(body));
    expect(server.hitsFor("/noetag.img")).toHaveLength(2);
  });

  it("follows redirects", async () => {
    server.route("/real.img", { body });
    server.route("/alias.img", { body, plan: [{ redirect: "/real.img" }] });
    const result = await cache().ensure(image(`${server.origin}/alias.img`, digest));
    expect(result.sha256).toBe(digest);
    expect(server.hits.map((h) => h.path)).toEqual(["/alias.img", "/real.img"]);
  });

  it("refuses a redirect away from https", async () => {
    server.route("/downgrade.img", { body, plan: [{ redirect: "http://127.0.0.1:1/x.img" }] });
    const error = await rejection(cache().ensure(image(`${server.origin}/downgrade.img`, digest)));
    expect(error.message).toContain("must use https://");
  });

  it("reports throttled progress ending with the full size", async () => {
    server.route("/progress.img", { body });
    const seen: ImageProgress[] = [];
    await cache().ensure(image(`${server.origin}/progress.img`, digest), { onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toMatchObject({ image: "base", bytes: body.length, total: body.length });
    expect(seen.every((p) => p.bytesPerSecond >= 0)).toBe(true);
  });

  it("never serves a corrupt cached file: detects it, removes it and downloads again", async () => {
    server.route("/corrupt.img", { body });
    const first = await cache().ensure(image(`${server.origin}/corrupt.img`, digest));
    // Same size, different bytes, mtime restored: only a full re-hash can tell.
    const { mtime } = await stat(first.path);
    const damaged = Buffer.from(body);
    damaged[1000] = damaged[1000]! ^ 0xff;
    await writeFile(first.path, damaged);
    await utimes(first.path, mtime, mtime);
    const second = await cache().ensure(image(`${server.origin}/corrupt.img`, digest), { fullVerify: true });
    expect(sha256(await readFile(second.path))).toBe(sha256(body));
    expect(server.hitsFor("/corrupt.img")).toHaveLength(2);
  });

  it("re-hashes when the mtime changed and re-downloads a truncated file", async () => {
    server.route("/trunc.img", { body });
    const first = await cache().ensure(image(`${server.origin}/trunc.img`, digest));
    await truncate(first.path, 1000);
    const second = await cache().ensure(image(`${server.origin}/trunc.img`, digest));
    expect(sha256(await readFile(second.path))).toBe(sha256(body));
    expect(server.hitsFor("/trunc.img")).toHaveLength(2);
  });

  it("requires a sha256 for an https URL and refuses http", async () => {
    const missing = await rejection(cache().ensure(image(`${server.origin}/img.qcow2`)));
    expect(missing.message).toContain("needs a sha256");
    const http = await rejection(cache().ensure(image("http://example.invalid/x.img", digest)));
    expect(http.message).toContain("use https://");
    const bad = await rejection(cache().ensure(image(`${server.origin}/img.qcow2`, "abc")));
    expect(bad.message).toContain("not 64 hexadecimal characters");
    expect(server.hits).toHaveLength(0);
  });

  it("pulls a well-known image without a pinned checksum and records its digest", async () => {
    server.route("/noble-amd64.img", { body });
    const registry = { "ubuntu:24.04": { description: "test", urls: { amd64: `${server.origin}/noble-amd64.img` }, format: "qcow2" as const } };
    const c = cache({ registry, arch: "amd64" });
    const result = await c.ensure(image("ubuntu:24.04"));
    expect(result).toMatchObject({ source: "ubuntu:24.04", resolvedUrl: `${server.origin}/noble-amd64.img`, sha256: digest });
    expect(await c.list()).toEqual([result]);
    const metadata = JSON.parse(await readFile(join(cacheDir, "metadata.json"), "utf8"));
    expect(metadata.images[result.key].sha256).toBe(digest);
    // No pinned digest must not mean "download again every time".
    expect(await cache({ registry, arch: "amd64" }).ensure(image("ubuntu:24.04", undefined, "other"))).toMatchObject({ path: result.path });
    expect(server.hitsFor("/noble-amd64.img")).toHaveLength(1);
  });

  it("concurrent ensures of one image in one process download it once", async () => {
    server.route("/together.img", { body, chunkDelayMs: 5 });
    const results = await Promise.all([1, 2, 3].map(() => cache().ensure(image(`${server.origin}/together.img`, digest))));
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(server.hitsFor("/together.img")).toHaveLength(1);
  });

  it("an aborted download (Ctrl-C) releases the lock, keeps the bytes, and the next run resumes", async () => {
    server.route("/abort.img", { body, chunkDelayMs: 60 });
    const controller = new AbortController();
    const aborted = cache().ensure(image(`${server.origin}/abort.img`, digest), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 0) controller.abort(new Error("interrupted by the user"));
      },
    });
    await expect(aborted).rejects.toThrow("interrupted by the user");
    const result = await cache().ensure(image(`${server.origin}/abort.img`, digest));
    expect(sha256(await readFile(result.path))).toBe(digest);
    expect(server.hitsFor("/abort.img")[1]!.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it("fetches the pinned version when the cached one has another digest, keeping the old file", async () => {
    const v1 = randomBytes(4096);
    server.route("/moving.img", { body: v1 });
    const registry = { "debian:12": { description: "test", urls: { amd64: `${server.origin}/moving.img` }, format: "qcow2" as const } };
    const c = cache({ registry, arch: "amd64" });
    const old = await c.ensure(image("debian:12"));
    server.route("/moving.img", { body });
    const pinned = await c.ensure(image("debian:12", digest));
    expect(pinned.sha256).toBe(digest);
    expect(pinned.path).not.toBe(old.path);
    expect(sha256(await readFile(old.path))).toBe(sha256(v1));
  });
});

async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name !== "metadata.json")
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !p.includes("/.locks/"));
}
