// Start-up of every bin, and the Forge-style round trip (a new orchestrator process for create and another for
// delete) on the stub, for this build against a baseline build, interleaved. The baseline is another package root
// (its own package.json, dist/ and node_modules), e.g. the same commit built with tsc alone, without the bundling.
// Run: `npm run bench -- bin-startup <baseline package root> [runs]`.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { packageRoot } from "../lib/package.js";
import { connectOrchestrator, textOf } from "../test/helpers/mcp.js";
import { designExample } from "../test/helpers/specs.js";
import { median, spread } from "./stats.js";

const BINS = ["dist/src/bin.js", "dist/providers/stub/bin.js", "dist/providers/libvirt/bin.js", "dist/providers/podman/bin.js"] as const;

/** Milliseconds from spawn to the answer of tools/list after the MCP handshake. */
function toolsListed(bin: string): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, "--mcp"], { stdio: ["pipe", "pipe", "ignore"], env: { ...process.env, TESTENV_VM_LOG: "error" } });
    const send = (message: object): void => void child.stdin.write(`${JSON.stringify(message)}\n`);
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const { id } = JSON.parse(line) as { id?: number };
        if (id === 1) {
          send({ jsonrpc: "2.0", method: "notifications/initialized" });
          send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
        } else if (id === 2) {
          const elapsed = performance.now() - started;
          child.kill();
          done(elapsed);
        }
      }
    });
    child.on("error", fail);
    child.on("exit", (code) => fail(new Error(`${bin} exited (${code}) before it listed its tools`)));
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bin-startup", version: "1" } } });
  });
}

function versionPrinted(bin: string): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, "--version"], { stdio: "ignore" });
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? done(performance.now() - started) : fail(new Error(`${bin} --version exited ${code}`))));
  });
}

async function forgeRoundTrip(root: string, scratch: string, run: string): Promise<number> {
  const env = { TESTENV_VM_LOG: "error", TESTENV_VM_STATE_DIR: join(scratch, "state") };
  const bin = join(root, "dist/src/bin.js");
  const testID = `bench-startup-${run}`;
  const started = performance.now();
  for (const [name, args] of [
    ["create", { testID, stage: "bench", tmpDir: join(scratch, "tmp"), metadata: {}, spec: designExample(undefined) }],
    ["delete", { testID, metadata: {} }],
  ] as const) {
    const orchestrator = await connectOrchestrator({ bin, env });
    const result = await orchestrator.call(name, args);
    await orchestrator.close();
    if (result.isError) throw new Error(`${name} on ${root}: ${textOf(result) || "failed"}`);
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const baselineArg = process.argv[2];
  if (baselineArg === undefined) throw new Error("usage: bin-startup <baseline package root> [runs]");
  const roots = { baseline: resolve(baselineArg), current: packageRoot() };
  const runs = Number(process.argv[3] ?? 11);
  const scratch = mkdtempSync(join(tmpdir(), "testenv-vm-bench-startup-"));
  type Sample = Record<keyof typeof roots, number[]>;
  const samples = new Map<string, Sample>();
  const record = (what: string, side: keyof typeof roots, ms: number): void => {
    const sample = samples.get(what) ?? { baseline: [], current: [] };
    sample[side].push(ms);
    samples.set(what, sample);
  };
  const loads: number[] = [];
  try {
    for (let run = 0; run <= runs; run++) {
      // Both sides in each round, the order alternating, so that load and cache changes hit both alike.
      const sides: (keyof typeof roots)[] = run % 2 === 0 ? ["baseline", "current"] : ["current", "baseline"];
      for (const side of sides) {
        const root = roots[side];
        const measured: [string, number][] = [["testenv-vm --version", await versionPrinted(join(root, BINS[0]))]];
        for (const bin of BINS) measured.push([`${bin} --mcp to tools/list`, await toolsListed(join(root, bin))]);
        measured.push(["Forge-style create + delete on the stub (4 processes)", await forgeRoundTrip(root, scratch, `${side}-${run}`)]);
        // Round 0 warms the file cache of both builds and is not counted.
        if (run > 0) for (const [what, ms] of measured) record(what, side, ms);
      }
      loads.push(loadavg()[0] ?? 0);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const fmt = (values: number[]): string => spread(values, "ms", (ms) => ms.toFixed(0));
  process.stdout.write(`baseline: ${roots.baseline}\ncurrent: ${roots.current}\nload average (1 min) during the run: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}\n\n`);
  for (const [what, sample] of samples) {
    const ratio = median(sample.current) / median(sample.baseline);
    process.stdout.write(`${what}\n  baseline ${fmt(sample.baseline)}\n  current  ${fmt(sample.current)}\n  current/baseline ${ratio.toFixed(2)}x\n`);
  }
}

await main();
