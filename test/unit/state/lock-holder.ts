// Child process for lock tests: holds an environment's lock until a line arrives on stdin, or until killed.
import { writeFile } from "node:fs/promises";
import { StateStore } from "../../../src/state/index.js";

const [stateDir = "", testID = "", staleMs = "10000", marker = ""] = process.argv.slice(2);
const store = new StateStore(stateDir, { lockStaleMs: Number(staleMs) });
await store.withLock(testID, async () => {
  process.stdout.write("locked\n");
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
  // Written while still holding the lock: whoever sees it inside the lock got the lock after this holder.
  await writeFile(marker, "released by child\n");
});
process.exit(0);
