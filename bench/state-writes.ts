// Measures what one state save costs as environments grow: `node dist/bench/state-writes.js` (after npm run build).
// Every resource update saves the whole file, so save time × resources is the state overhead of a create.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateStore, createStateWriter } from "../src/state/index.js";
import { sampleState } from "../test/helpers/sample-state.js";
import { quantile } from "./stats.js";

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "testenv-bench-state-"));
  try {
    const store = new StateStore(dir);
    console.log("resources  file size   save (median)  save (p90)  load (median)  1 write per resource, coalesced");
    for (const count of [10, 100, 1000]) {
      const state = sampleState(`bench-${count}`, count, { stage: "bench", renderedRequests: true });
      const saves: number[] = [];
      const loads: number[] = [];
      for (let run = 0; run < 30; run++) {
        let start = performance.now();
        await store.save(state);
        saves.push(performance.now() - start);
        start = performance.now();
        await store.load(state.id);
        loads.push(performance.now() - start);
      }
      const size = (await stat(store.statePath(state.id))).size;
      // A create's worst case: every resource finishes at once and asks for a save.
      const writer = createStateWriter(store, () => state);
      const start = performance.now();
      await Promise.all(Array.from({ length: count }, () => writer.write()));
      const burst = performance.now() - start;
      console.log(
        `${String(count).padStart(9)}  ${`${(size / 1024).toFixed(1)} KiB`.padStart(9)}  ` +
          `${quantile(saves, 0.5).toFixed(2).padStart(10)} ms  ${quantile(saves, 0.9).toFixed(2).padStart(7)} ms  ` +
          `${quantile(loads, 0.5).toFixed(2).padStart(10)} ms  ${burst.toFixed(1).padStart(8)} ms for ${count} writes`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
