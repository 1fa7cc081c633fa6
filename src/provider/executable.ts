export { findAllInPath, findInPath, isExecutableFile } from "../../lib/executable.js";

/** How to start a provider process: `command` with `args` (which end with `--mcp`). */
export interface ResolvedEngine {
  command: string;
  args: string[];
}
