// Create + delete of the design example on the stub, through MCP stdio, provider spawn included.
// Run from the build: `npm run build && node dist/bench/stub-roundtrip.js [runs]`. Goal: median <= 500 ms.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { connectOrchestrator, textOf, type OrchestratorConnection } from "../test/helpers/mcp.js";
import { designExample } from "../test/helpers/specs.js";
import { median, spread } from "./stats.js";

const BIN = resolve(import.meta.dirname, "../src/bin.js");
const runs = Number(process.argv[2] ?? 7);

function connect(env: Record<string, string>): Promise<OrchestratorConnection> {
  return connectOrchestrator({ bin: BIN, env: { TESTENV_VM_LOG: "error", ...env } });
}

async function call(orchestrator: OrchestratorConnection, name: string, args: Record<string, unknown>): Promise<void> {
  const result = await orchestrator.call(name, args);
  if (result.isError) throw new Error(`${name}: ${textOf(result) || "failed"}`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "testenv-vm-bench-"));
  const env = { TESTENV_VM_STATE_DIR: join(root, "state") };
  // No stub store, as when the figures in docs/performance.md were taken: each stub process keeps its resources in memory.
  const spec = (): Record<string, unknown> => designExample(undefined);
  const connected: number[] = [];
  const forgeLike: number[] = [];
  try {
    // One orchestrator process, as an MCP agent would keep it: each call still spawns its provider.
    const client = await connect(env);
    for (let i = 0; i <= runs; i++) {
      const args = { testID: `bench-rt-${i}`, stage: "bench", tmpDir: join(root, "tmp"), metadata: {}, spec: spec() };
      const started = performance.now();
      await call(client, "create", args);
      await call(client, "delete", { testID: args.testID, metadata: {} });
      if (i > 0) connected.push(performance.now() - started); // run 0 warms the file cache
    }
    await client.close();

    // As Forge does it: a fresh orchestrator process for create and another for delete.
    for (let i = 0; i < runs; i++) {
      const args = { testID: `bench-forge-${i}`, stage: "bench", tmpDir: join(root, "tmp"), metadata: {}, spec: spec() };
      const started = performance.now();
      const creator = await connect(env);
      await call(creator, "create", args);
      await creator.close();
      const deleter = await connect(env);
      await call(deleter, "delete", { testID: args.testID, metadata: {} });
      await deleter.close();
      forgeLike.push(performance.now() - started);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const fmt = (values: number[]): string => spread(values, "ms", (ms) => ms.toFixed(0));
  process.stdout.write(`design example create+delete, one MCP connection (provider spawned by create, reused by delete): ${fmt(connected)}\n`);
  process.stdout.write(`design example create+delete, a new orchestrator process per call (Forge): ${fmt(forgeLike)}\n`);
  process.stdout.write(`goal: median <= 500 ms (one connection): ${median(connected) <= 500 ? "met" : "NOT met"}\n`);
}

await main();
