import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

// Process-level tests run the built bins, exactly as Forge would. Build once per run unless told not to.
export default function setup(): void {
  if (process.env.TESTENV_VM_SKIP_BUILD === "1" && existsSync("dist/src/bin.js")) return;
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
}
