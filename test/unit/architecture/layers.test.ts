import { execFile } from "node:child_process";
import { appendFile, cp, mkdtemp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The layering check (.dependency-cruiser.cjs, run in CI as `npm run check:layers`) must pass on the tree and fail
// on every kind of forbidden import. The forbidden ones are planted in a scratch copy, never in the tree itself.

const ROOT = resolve(import.meta.dirname, "../../..");
const DEPCRUISE = join(ROOT, "node_modules/.bin/depcruise");
const run = promisify(execFile);

interface CheckResult {
  exitCode: number;
  output: string;
}

async function checkLayers(cwd: string): Promise<CheckResult> {
  try {
    const { stdout, stderr } = await run(DEPCRUISE, ["api", "lib", "src", "providers", "--config", ".dependency-cruiser.cjs"], { cwd });
    return { exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: failed.code ?? -1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

/** Each plant: a line appended to a file of the scratch copy, and the rule that must name it. */
const PLANTS = [
  { file: "providers/stub/stub.ts", line: 'import "../../src/orchestrator/orchestrator.js";', rule: "providers-never-import-src", to: "src/orchestrator/orchestrator.ts" },
  { file: "providers/stub/config.ts", line: 'import "../libvirt/names.js";', rule: "providers-never-import-each-other", to: "providers/libvirt/names.ts" },
  { file: "providers/kit/errors.ts", line: 'import "../stub/ipam.js";', rule: "kit-imports-api-and-lib", to: "providers/stub/ipam.ts" },
  { file: "lib/retry.ts", line: 'import "../src/errors.js";', rule: "lib-is-the-leaf", to: "src/errors.ts" },
  { file: "api/forge.ts", line: 'import "node:fs";', rule: "api-imports-only-zod", to: "fs" },
  { file: "src/state/paths.ts", line: 'import "../orchestrator/dag.js";', rule: "building-blocks-below-the-engine", to: "src/orchestrator/dag.ts" },
  { file: "src/orchestrator/dag.ts", line: 'import "../mcp/results.js";', rule: "engine-below-the-surfaces", to: "src/mcp/results.ts" },
  { file: "src/cli/exit-codes.ts", line: 'import "../mcp/results.js";', rule: "cli-and-mcp-apart", to: "src/mcp/results.ts" },
  { file: "src/client/errors.ts", line: 'import "../vitest/index.js";', rule: "client-below-the-other-surfaces", to: "src/vitest/index.ts" },
  { file: "src/cli/help.ts", line: 'import "../index.js";', rule: "entries-are-not-imported", to: "src/index.ts" },
] as const;

/** Two imports that only together close a cycle. */
const CYCLE = [
  { file: "lib/run.ts", line: 'import "./retry.js";' },
  { file: "lib/retry.ts", line: 'import "./run.js";' },
] as const;

describe("layering check", () => {
  let scratch: string;
  let planted: CheckResult;

  beforeAll(async () => {
    // Inside the repository, so that the copy resolves the same node_modules.
    scratch = await mkdtemp(join(ROOT, ".layers-scratch-"));
    for (const entry of ["api", "lib", "src", "providers", "tsconfig.json", ".dependency-cruiser.cjs", "package.json"]) {
      await cp(join(ROOT, entry), join(scratch, entry), { recursive: true });
    }
    for (const plant of [...PLANTS, ...CYCLE]) await appendFile(join(scratch, plant.file), `\n${plant.line}\n`);
    planted = await checkLayers(scratch);
  }, 60_000);

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it("passes on the tree as it is", async () => {
    const result = await checkLayers(ROOT);
    expect(result.output).toContain("no dependency violations found");
    expect(result.exitCode).toBe(0);
  }, 60_000);

  it("fails when forbidden imports are planted", () => {
    expect(planted.exitCode).not.toBe(0);
  });

  it.each(PLANTS.map((plant) => [plant.rule, plant.file, plant]))("reports %s for %s", (_rule, _file, plant) => {
    const line = planted.output.split("\n").find((l) => l.includes(`${plant.rule}:`) && l.includes(plant.file));
    expect(line, `no ${plant.rule} violation from ${plant.file} in:\n${planted.output}`).toBeDefined();
    expect(line).toContain(plant.to);
  });

  it("reports a cycle closed by two imports", () => {
    const lines = planted.output.split("\n");
    const start = lines.findIndex((l) => /no-cycles: lib\/(run|retry)\.ts/.test(l));
    expect(start, planted.output).toBeGreaterThanOrEqual(0);
    const cycle = lines.slice(start, start + 3).join(" ");
    expect(cycle).toContain("lib/run.ts");
    expect(cycle).toContain("lib/retry.ts");
  });
});
