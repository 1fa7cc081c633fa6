import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EnvironmentState } from "../../../api/state.js";
import { StateStore, createStateWriter } from "../../../src/state/index.js";
import { sampleState } from "../../helpers/sample-state.js";

/** A store whose saves finish only when the test says so, recording what each save contained. */
function controlledStore() {
  const saved: string[] = [];
  const pending: Array<() => void> = [];
  let active = 0;
  let maxActive = 0;
  return {
    saved,
    get maxActive() {
      return maxActive;
    },
    finishNext(): void {
      pending.shift()?.();
    },
    save(state: EnvironmentState): Promise<void> {
      const content = JSON.stringify(state.resources);
      active++;
      maxActive = Math.max(maxActive, active);
      return new Promise<void>((resolve) =>
        pending.push(() => {
          active--;
          saved.push(content);
          resolve();
        }),
      );
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("createStateWriter", () => {
  it("never runs two saves at once and coalesces requests made during a save into one", async () => {
    const store = controlledStore();
    const state = sampleState("w", 0);
    const writer = createStateWriter(store, () => state);

    const first = writer.write();
    const later: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) {
      state.resources.keys[`k${i}`] = { ...sampleState("w", 1).resources.keys["key-0"]!, name: `k${i}` };
      later.push(writer.write());
    }
    await tick();
    store.finishNext();
    await first;
    await tick();
    store.finishNext();
    await Promise.all(later);

    expect(store.saved).toHaveLength(2);
    expect(store.maxActive).toBe(1);
    // The follow-up save carries every change made while the first was in flight.
    const followUp = JSON.parse(store.saved[1]!) as EnvironmentState["resources"];
    expect(Object.keys(followUp.keys)).toHaveLength(10);
  });

  it("rejects the callers of a failed save and lets the next write try again", async () => {
    let fail = true;
    const state = sampleState("w2", 0);
    const writer = createStateWriter(
      { save: () => (fail ? Promise.reject(new Error("disk full")) : Promise.resolve()) },
      () => state,
    );
    await expect(writer.write()).rejects.toThrow("disk full");
    fail = false;
    await expect(writer.write()).resolves.toBeUndefined();
  });

  it("with a real store, parallel updates all end up in the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "testenv-writer-"));
    try {
      const store = new StateStore(dir);
      const state = sampleState("par", 0);
      const writer = createStateWriter(store, () => state);
      const template = sampleState("par", 3).resources.vms["vm-2"]!;
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i % 7));
          state.resources.vms[`vm${i}`] = { ...template, name: `vm${i}` };
          await writer.write();
        }),
      );
      const onDisk = JSON.parse(await readFile(store.statePath("par"), "utf8")) as EnvironmentState;
      expect(Object.keys(onDisk.resources.vms)).toHaveLength(50);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
