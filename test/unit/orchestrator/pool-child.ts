// Child process for the pool tests: places several environments at once through the shared ledger, prints testID → host.
import type { Spec } from "../../../api/spec.js";
import { createLogger } from "../../../lib/log.js";
import { PlacementLedger } from "../../../src/orchestrator/placement-ledger.js";
import { placeEnvironment } from "../../../src/orchestrator/pool-placement.js";
import { healthyProbe, poolSpec } from "./pool-fixtures.js";

// Placement lines would only clutter the test run.
process.env.TESTENV_VM_LOG = "error";
const [ledgerPath = "", stateDir = "", ...testIDs] = process.argv.slice(2);
const spec: Spec = poolSpec();
const placed = await Promise.all(
  testIDs.map((testID) => placeEnvironment(spec, { testID, stateDir, cwd: stateDir, env: {}, log: createLogger("pool-child"), ledger: new PlacementLedger(ledgerPath), probe: healthyProbe() })),
);
process.stdout.write(`${JSON.stringify(Object.fromEntries(testIDs.map((id, i) => [id, placed[i]?.placements[0]?.host])))}\n`);
