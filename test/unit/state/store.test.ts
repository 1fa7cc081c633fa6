import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import { StateStore, resolveStateDir, validateTestID } from "../../../src/state/index.js";
import { spawnTs, waitForExit, waitForOutput } from "./children.js";
import { sampleState } from "../../helpers/sample-state.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "testenv-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<TestenvError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw error;
  }
  throw new Error("expected a TestenvError, got success");
}

describe("resolveStateDir", () => {
  it("prefers TESTENV_VM_STATE_DIR, then the spec, then .forge/testenv-vm, relative to rootDir", () => {
    const rootDir = "/project";
    expect(resolveStateDir({ rootDir, env: { TESTENV_VM_STATE_DIR: "/abs/state" }, specStateDir: "spec" })).toBe("/abs/state");
    expect(resolveStateDir({ rootDir, env: { TESTENV_VM_STATE_DIR: "rel" }, specStateDir: "spec" })).toBe("/project/rel");
    expect(resolveStateDir({ rootDir, env: {}, specStateDir: "build/state" })).toBe("/project/build/state");
    expect(resolveStateDir({ rootDir, env: { TESTENV_VM_STATE_DIR: "" } })).toBe("/project/.forge/testenv-vm");
  });
});

describe("validateTestID", () => {
  it.each(["a", "test-e2e-20250101-abcd1234", "A.b_c-9", "x".repeat(128)])("accepts %s", (id) => {
    expect(() => validateTestID(id)).not.toThrow();
  });

  it.each(["", "-a", ".hidden", "a/b", "a..b", "a b", "x".repeat(129), "é"])("rejects %j with INPUT_INVALID on field testID", (id) => {
    let error: unknown;
    try {
      validateTestID(id);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("INPUT_INVALID");
    expect((error as TestenvError).message).toMatch(/^testID /);
    expect((error as TestenvError).issues[0]?.field).toBe("testID");
  });
});

describe("StateStore save/load", () => {
  it("round-trips a state at {stateDir}/state/testenv-<id>.json, mode 0600 in a 0700 dir, no temp files", async () => {
    const store = new StateStore(join(dir, "sd"));
    const state = sampleState("env-1", 6);
    const before = state.updatedAt;
    await new Promise((r) => setTimeout(r, 5));
    await store.save(state);

    const path = join(dir, "sd", "state", "testenv-env-1.json");
    expect(store.statePath("env-1")).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "sd", "state"))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, "sd", "state"))).toEqual(["testenv-env-1.json"]);
    expect(state.updatedAt).not.toBe(before);

    const loaded = await store.load("env-1");
    expect(loaded).toEqual(state);
  });

  it("returns undefined for an environment without a state file", async () => {
    expect(await new StateStore(dir).load("nothing-here")).toBeUndefined();
  });

  it("overwrites atomically and leaves no temp file when the write fails", async () => {
    const store = new StateStore(dir);
    await store.save(sampleState("env-2"));
    // Replace the state file by a non-empty directory: the final rename must fail.
    const path = store.statePath("env-2");
    await rm(path);
    await mkdir(join(path, "blocker"), { recursive: true });
    await expect(store.save(sampleState("env-2"))).rejects.toThrow();
    expect((await readdir(store.dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("removes a state file, and removing twice is fine", async () => {
    const store = new StateStore(dir);
    await store.save(sampleState("env-3"));
    await store.remove("env-3");
    await store.remove("env-3");
    expect(await store.load("env-3")).toBeUndefined();
  });
});

describe("StateStore corrupt files", () => {
  it("names the file when it is not JSON and leaves it untouched", async () => {
    const store = new StateStore(dir);
    await mkdir(store.dir, { recursive: true });
    const path = store.statePath("bad");
    await writeFile(path, "{ not json");
    const error = await caught(store.load("bad"));
    expect(error.code).toBe("STATE_CORRUPT");
    expect(error.message).toContain(path);
    expect(error.message).toContain("not valid JSON");
    expect(error.message).toContain("did not change it");
    expect(await readFile(path, "utf8")).toBe("{ not json");
  });

  it("names the field that does not match the schema", async () => {
    const store = new StateStore(dir);
    const state = sampleState("bad2");
    await store.save(state);
    const json = JSON.parse(await readFile(store.statePath("bad2"), "utf8"));
    json.resources.keys["key-0"].status = "exploded";
    await writeFile(store.statePath("bad2"), JSON.stringify(json));
    const error = await caught(store.load("bad2"));
    expect(error.code).toBe("STATE_CORRUPT");
    expect(error.message).toContain(store.statePath("bad2"));
    expect(error.message).toContain("field resources.keys.key-0.status");
    expect(error.issues[0]?.field).toBe("resources.keys.key-0.status");
  });

  it("says which version a file from another state format has", async () => {
    const store = new StateStore(dir);
    await store.save(sampleState("v2"));
    const json = JSON.parse(await readFile(store.statePath("v2"), "utf8"));
    await writeFile(store.statePath("v2"), JSON.stringify({ ...json, version: 2 }));
    const error = await caught(store.load("v2"));
    expect(error.message).toContain("state format version 2");
  });

  it("lists good and corrupt environments, ignoring temp and lock files", async () => {
    const store = new StateStore(dir);
    await store.save(sampleState("a-env"));
    await store.save(sampleState("c-env"));
    await writeFile(store.statePath("b-env"), "garbage");
    await writeFile(join(store.dir, ".testenv-a-env.json.1234.tmp"), "partial");
    await mkdir(join(store.dir, "testenv-a-env.json.lock"));
    const entries = await store.list();
    expect(entries.map((e) => e.testID)).toEqual(["a-env", "b-env", "c-env"]);
    expect(entries[0]?.state?.id).toBe("a-env");
    expect(entries[1]?.error?.code).toBe("STATE_CORRUPT");
    expect(entries[1]?.state).toBeUndefined();
  });

  it("lists nothing when the state dir does not exist", async () => {
    expect(await new StateStore(join(dir, "missing")).list()).toEqual([]);
  });
});

describe("StateStore.withLock", () => {
  it("runs fn under the lock and releases it afterwards, also when fn throws", async () => {
    const store = new StateStore(dir);
    await expect(store.withLock("env", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await store.withLock("env", () => Promise.resolve(42), { waitMs: 0 })).toBe(42);
  });

  it("makes a second holder in the same process time out with STATE_LOCKED", async () => {
    const first = new StateStore(dir);
    const second = new StateStore(dir);
    let release!: () => void;
    const held = first.withLock("env", () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 50));
    const error = await caught(second.withLock("env", () => Promise.resolve(), { waitMs: 300 }));
    expect(error.code).toBe("STATE_LOCKED");
    expect(error.message).toContain("environment env is locked by another testenv-vm process");
    expect(error.retryable).toBe(true);
    release();
    await held;
    await expect(second.withLock("env", () => Promise.resolve("ok"), { waitMs: 0 })).resolves.toBe("ok");
  });

  it("waits for a holder in another process, then gets the lock after it releases", async () => {
    const store = new StateStore(dir);
    const marker = join(dir, "marker");
    const child = spawnTs("lock-holder.ts", [dir, "shared", "10000", marker]);
    try {
      await waitForOutput(child, "locked");
      await expect(store.withLock("shared", () => Promise.resolve(), { waitMs: 300 })).rejects.toMatchObject({
        code: "STATE_LOCKED",
      });
      const waiting = store.withLock("shared", async () => readFile(marker, "utf8"), { waitMs: 15_000 });
      child.stdin?.write("release\n");
      // The marker is written just before the child releases: seeing it proves we ran after the child.
      await expect(waiting).resolves.toBe("released by child\n");
      expect(await waitForExit(child)).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("takes over the lock of a holder killed with SIGKILL once the lock goes stale", async () => {
    const store = new StateStore(dir, { lockStaleMs: 2000 });
    const child = spawnTs("lock-holder.ts", [dir, "crashed", "2000", join(dir, "unused")]);
    try {
      await waitForOutput(child, "locked");
      await expect(store.withLock("crashed", () => Promise.resolve(), { waitMs: 0 })).rejects.toMatchObject({
        code: "STATE_LOCKED",
      });
      child.kill("SIGKILL");
      await waitForExit(child);
      await expect(store.withLock("crashed", () => Promise.resolve("taken over"), { waitMs: 15_000 })).resolves.toBe(
        "taken over",
      );
    } finally {
      child.kill("SIGKILL");
    }
  });
});
