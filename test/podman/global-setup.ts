import { execFileSync } from "node:child_process";
import buildOnce from "../helpers/build-once.js";
import { PODMAN_BIN, providerConfig, sweepStaleTestObjects } from "./support.js";

// Build the package, then the base image (once per recipe; reused from the cached storage afterwards). This runs
// in the host's namespace because mmdebstrap needs the Debian archive; the tests' namespaces have no way out.
export default function setup(): void {
  buildOnce();
  execFileSync(process.execPath, [PODMAN_BIN, "build-image"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TESTENV_VM_PROVIDER_CONFIG: JSON.stringify(providerConfig()) },
    timeout: 30 * 60_000,
  });
  const swept = sweepStaleTestObjects();
  if (swept.length > 0) process.stderr.write(`podman tests: removed what earlier runs left in the test storage: ${swept.join(", ")}\n`);
}
