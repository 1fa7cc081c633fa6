import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/orchestrator/orchestrator.js";
import { TestenvError } from "../../src/errors.js";
import { createLogger } from "../../lib/log.js";
import { storedResources } from "../helpers/stub-store.js";
import { sandbox, testID } from "./env.js";
import { designExample } from "../helpers/specs.js";

// Delete works from the state file alone, even when the world around it changed after create.

const quiet = createLogger("test");

/** A provider engine at a path of the test's own: a tiny bin that runs the real stub. */
function writeProviderBin(path: string): void {
  writeFileSync(path, `#!/usr/bin/env node\nawait import(${JSON.stringify(resolve("dist/providers/stub/bin.js"))});\n`, { mode: 0o755 });
}

/** Creates the design example with a provider engine at a path of the test's own, then removes that engine. */
async function createWithVanishingProvider(box: ReturnType<typeof sandbox>): Promise<{ id: string; bin: string; env: NodeJS.ProcessEnv; provider: string }> {
  const id = testID();
  const bin = join(box.root, "my-provider.js");
  writeProviderBin(bin);
  const spec = designExample(box.store);
  const provider = (spec.providers as Array<Record<string, unknown>>)[0]!;
  provider.engine = bin;
  const env = { ...process.env, ...box.env, TESTENV_VM_LOG: "error" };
  await new Orchestrator({ rootDir: box.root, env, log: quiet }).create({ testID: id, stage: "e2e", tmpDir: box.tmpDir, spec });
  rmSync(bin);
  return { id, bin, env, provider: provider.name as string };
}

describe("delete after the world changed", () => {
  it("deletes when the project dir (rootDir) the environment was created from is gone", async () => {
    using box = sandbox("gone-root");
    const project = join(box.root, "project");
    mkdirSync(project);
    const id = testID();
    const env = { ...process.env, ...box.env, TESTENV_VM_LOG: "error" };
    await new Orchestrator({ rootDir: project, env, log: quiet }).create({ testID: id, stage: "e2e", tmpDir: box.tmpDir, spec: designExample(box.store) });
    expect(storedResources(box.store)).toHaveLength(5);
    rmSync(project, { recursive: true });

    const result = await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: id });
    expect(result).toMatchObject({ deleted: 5, alreadyGone: false });
    expect(storedResources(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });

  it("keeps the state and names the cause when a recorded provider cannot be started", async () => {
    using box = sandbox("gone-provider");
    const { id, bin, env } = await createWithVanishingProvider(box);

    const error = await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestenvError);
    expect((error as TestenvError).code).toBe("DELETE_INCOMPLETE");
    expect((error as TestenvError).message).toContain("could not be started");
    expect((error as TestenvError).message).toContain("5 resource(s) are left");
    expect(box.readState(id).status).toBe("failed");
    expect(storedResources(box.store)).toHaveLength(5);

    // Put the provider back: the next delete finishes the job.
    writeProviderBin(bin);
    await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: id });
    expect(storedResources(box.store)).toEqual([]);
    expect(existsSync(box.stateFile(id))).toBe(false);
  });

  it("delete --force forgets what an unreachable provider holds and names each resource and where it may remain", async () => {
    using box = sandbox("forget-unreachable");
    const { id, env, provider } = await createWithVanishingProvider(box);

    // The reaper's force (a corrupt state's gc fallback) does not forget: it keeps the state for a later try.
    const kept = await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: id }, { force: true }).catch((e: unknown) => e);
    expect((kept as TestenvError).code).toBe("DELETE_INCOMPLETE");
    expect(existsSync(box.stateFile(id))).toBe(true);

    const result = await new Orchestrator({ rootDir: box.root, env, log: quiet }).delete({ testID: id }, { force: true, forgetUnreachable: true });
    expect(result.deleted).toBe(0);
    expect(result.forgotten).toHaveLength(5);
    expect(new Set(result.forgotten!.map((r) => r.where))).toEqual(new Set([`provider ${provider}`]));
    expect(existsSync(box.stateFile(id))).toBe(false);
    // Forgotten, not deleted: the provider's objects are still there, as the message says.
    expect(storedResources(box.store)).toHaveLength(5);
  });
});
