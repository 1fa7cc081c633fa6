// Child process for isolation tests: reserves subnets for several testIDs at once and prints the maps as JSON.
import { reserveSubnets } from "../../../src/orchestrator/subnet-reservations.js";

const [stateDir = "", ...testIDs] = process.argv.slice(2);
const maps = await Promise.all(testIDs.map((id) => reserveSubnets(stateDir, id, ["10.0.0", "192.168.100"])));
process.stdout.write(`${JSON.stringify(Object.fromEntries(testIDs.map((id, i) => [id, maps[i]])))}\n`);
