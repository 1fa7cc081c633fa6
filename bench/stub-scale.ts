// Scale of the engine on the stub with zero latency, and parallelism with 200 ms latency.
// Run from the build: `npm run build && node dist/bench/stub-scale.js`.
// Each measurement runs in its own process so peak RSS (maxRSS) belongs to that measurement alone.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { independentKeys, stubProvider } from "../test/helpers/specs.js";

interface Measurement {
  resources: number;
  createMs: number;
  deleteMs: number;
  phaseMs: number[];
  maxRssMiB: number;
  /** CPU time of the orchestrator process (user + system): comparable across machines under load. */
  cpuMs: number;
}

/** `count` resources: half keys, a tenth networks, the rest VMs spread over the networks (3 phases). */
function scaleSpec(count: number): Record<string, unknown> {
  const networks = Math.max(1, Math.floor(count / 10));
  const keys = Math.max(1, Math.floor(count / 2));
  const vms = Math.max(0, count - networks - keys);
  return {
    providers: [stubProvider(undefined)],
    concurrency: 16,
    keys: Array.from({ length: keys }, (_, i) => ({ name: `key-${i}`, spec: { type: "ed25519" } })),
    networks: Array.from({ length: networks }, (_, i) => ({ name: `net-${i}`, kind: "bridge", spec: {} })),
    vms: Array.from({ length: vms }, (_, i) => ({
      name: `vm-${i}`,
      spec: {
        memory: 256,
        vcpus: 1,
        network: `net-${i % networks}`,
        disk: { size: "1G" },
        cloudInit: { users: [{ name: "u", sshAuthorizedKeys: [`{{ .Keys.key-${i % keys}.PublicKey }}`] }] },
      },
    })),
  };
}

/** `count` VMs on one network with one key: the orchestrator's peak memory per VM. */
function vmsSpec(count: number): Record<string, unknown> {
  return {
    providers: [stubProvider(undefined)],
    concurrency: 16,
    keys: [{ name: "key", spec: { type: "ed25519" } }],
    networks: [{ name: "net", kind: "bridge", spec: {} }],
    vms: Array.from({ length: count }, (_, i) => ({
      name: `vm-${i}`,
      spec: { memory: 256, vcpus: 1, network: "net", disk: { size: "1G" }, cloudInit: { users: [{ name: "u", sshAuthorizedKeys: ["{{ .Keys.key.PublicKey }}"] }] } },
    })),
  };
}

/** `count` independent keys, each create delayed by the stub. */
function latencySpec(count: number, delayMs: number): Record<string, unknown> {
  return { ...independentKeys(undefined, count, { delayMs: { key_create: delayMs } }), concurrency: 32 };
}

type Kind = "scale" | "vms" | "latency";

async function measure(kind: Kind, count: number): Promise<Measurement> {
  const { Orchestrator } = await import("../src/orchestrator/orchestrator.js");
  const root = mkdtempSync(join(tmpdir(), "testenv-vm-scale-"));
  try {
    const orchestrator = new Orchestrator({ rootDir: root, env: { ...process.env, TESTENV_VM_STATE_DIR: join(root, "state"), TESTENV_VM_LOG: "error" } });
    const spec = kind === "scale" ? scaleSpec(count) : kind === "vms" ? vmsSpec(count) : latencySpec(count, 200);
    const cpuBefore = process.cpuUsage();
    const phaseStarted = new Map<number, number>();
    const phaseMs: number[] = [];
    const started = performance.now();
    await orchestrator.create(
      { testID: `bench-${kind}-${count}`, stage: "bench", tmpDir: join(root, "tmp"), metadata: {}, spec },
      {
        onProgress: (event) => {
          if (event.kind !== "phase" || event.phase === undefined) return;
          if (event.status === "start") phaseStarted.set(event.phase, performance.now());
          else if (event.status === "done") phaseMs.push(performance.now() - (phaseStarted.get(event.phase) ?? started));
        },
      },
    );
    const createMs = performance.now() - started;
    const deleteStarted = performance.now();
    await orchestrator.delete({ testID: `bench-${kind}-${count}`, metadata: {} });
    const deleteMs = performance.now() - deleteStarted;
    const cpu = process.cpuUsage(cpuBefore);
    return { resources: count, createMs, deleteMs, phaseMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function child(kind: Kind, count: number): Measurement {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--one", kind, String(count)], {
    encoding: "utf8",
    env: { ...process.env, TESTENV_VM_LOG: "error" },
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Measurement;
}

async function main(): Promise<void> {
  if (process.argv[2] === "--one") {
    const measurement = await measure(process.argv[3] as Kind, Number(process.argv[4]));
    process.stdout.write(`${JSON.stringify(measurement)}\n`);
    return;
  }
  process.stdout.write("resources  create ms  delete ms  ms/resource  orchestrator CPU ms  peak RSS MiB\n");
  const sizes = (process.argv[2] ?? "10,100,1000").split(",").map(Number);
  for (const size of sizes) {
    const m = child("scale", size);
    process.stdout.write(
      `${String(size).padStart(9)}  ${m.createMs.toFixed(0).padStart(9)}  ${m.deleteMs.toFixed(0).padStart(9)}  ${(m.createMs / size).toFixed(2).padStart(11)}  ${m.cpuMs.toFixed(0).padStart(19)}  ${m.maxRssMiB.toFixed(0).padStart(12)}\n`,
    );
  }
  process.stdout.write("\nVMs (1 key, 1 network)  create ms  peak RSS MiB\n");
  for (const count of [1, 10, 100]) {
    const m = child("vms", count);
    process.stdout.write(`${String(count).padStart(22)}  ${m.createMs.toFixed(0).padStart(9)}  ${m.maxRssMiB.toFixed(0).padStart(12)}\n`);
  }
  const one = child("latency", 1);
  const twenty = child("latency", 20);
  const phase = (m: Measurement): number => m.phaseMs[0] ?? m.createMs;
  process.stdout.write(
    `latency 200 ms: 1 key phase ${phase(one).toFixed(0)} ms (create ${one.createMs.toFixed(0)} ms); 20 keys phase ${phase(twenty).toFixed(0)} ms (create ${twenty.createMs.toFixed(0)} ms); ratio phase ${(phase(twenty) / phase(one)).toFixed(2)}x, create ${(twenty.createMs / one.createMs).toFixed(2)}x (goal <= 1.3x)\n`,
  );
}

await main();
