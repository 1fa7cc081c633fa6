// How long a plan takes (the design's 4-resource example, and 100 VMs) and what checking the providers in parallel
// saves in doctor. Run from the build: `npm run build && node dist/bench/plan-doctor.js [runs]`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { designExample, stubProvider } from "../test/helpers/specs.js";
import { median } from "./stats.js";

function hundredVms(): Record<string, unknown> {
  return {
    providers: [stubProvider(undefined)],
    keys: [{ name: "k", spec: { type: "ed25519" } }],
    networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
    vms: Array.from({ length: 100 }, (_, i) => ({
      name: `vm-${i}`,
      spec: { memory: 256, vcpus: 1, network: "net", disk: { size: "1G" }, cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.k.PublicKey }}"] }] } },
    })),
  };
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? "5");
  const [{ Orchestrator }, registry] = await Promise.all([import("../src/orchestrator/orchestrator.js"), import("../src/provider/registry.js")]);
  const root = mkdtempSync(join(tmpdir(), "testenv-vm-plan-bench-"));
  const env = { ...process.env, TESTENV_VM_STATE_DIR: join(root, "state"), TESTENV_VM_LOG: "error" };
  try {
    const orchestrator = new Orchestrator({ rootDir: root, env });
    for (const [label, spec] of [["4-resource example", designExample(undefined)], ["100 VMs", hundredVms()]] as const) {
      const times: number[] = [];
      for (let run = 0; run < runs; run += 1) {
        const started = performance.now();
        await orchestrator.plan({ testID: "bench-plan", stage: "bench", tmpDir: join(root, "tmp"), metadata: {}, spec });
        times.push(performance.now() - started);
      }
      process.stdout.write(`plan, ${label}: median ${median(times).toFixed(0)} ms of ${runs} (min ${Math.min(...times).toFixed(0)} ms; includes starting the stub)\n`);
    }
    const candidates = registry.discoverProviders({ cwd: root, env });
    const options = { cwd: root, env, timeoutMs: 20_000 };
    const parallelStarted = performance.now();
    await registry.checkProviders(candidates, options);
    const parallelMs = performance.now() - parallelStarted;
    const alone: string[] = [];
    let sum = 0;
    for (const candidate of candidates) {
      const started = performance.now();
      await registry.checkProvider(candidate, options);
      const ms = performance.now() - started;
      sum += ms;
      alone.push(`${candidate.name} ${ms.toFixed(0)} ms`);
    }
    process.stdout.write(`doctor, ${candidates.length} providers: in parallel ${parallelMs.toFixed(0)} ms; one by one ${sum.toFixed(0)} ms (${alone.join(", ")})\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
