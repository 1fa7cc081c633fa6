// exec round-trip over one kept SSH connection vs a new connection per command, against a real ssh2 server on
// loopback: `node dist/bench/exec-latency.js [iterations]` (after npm run build). Both sides run `true` through
// `sh -c` on the server, so the difference is the cost of the TCP + SSH handshake + auth per command.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { KnownHostsStore } from "../src/client/known-hosts.js";
import { VmHandle } from "../src/client/vm-handle.js";
import type { VmTarget } from "../src/client/vm-target.js";
import { startSshServer } from "../test/e2e/client-ssh-server.js";
import { quantile } from "./stats.js";

interface Figures {
  runs: number;
  medianMs: number;
  p95Ms: number;
  meanMs: number;
}

function figures(samples: number[]): Figures {
  const round = (n: number): number => Math.round(n * 100) / 100;
  return { runs: samples.length, medianMs: round(quantile(samples, 0.5)), p95Ms: round(quantile(samples, 0.95)), meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length) };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 100);
  const dir = await mkdtemp(join(tmpdir(), "testenv-bench-exec-"));
  const server = await startSshServer({ home: dir });
  try {
    const keyPath = join(dir, "id_ed25519");
    await writeFile(keyPath, ssh2.utils.generateKeyPairSync("ed25519").private, { mode: 0o600 });
    const knownHosts = new KnownHostsStore(join(dir, "known_hosts.json"));
    const target: VmTarget = { name: "bench", host: server.host, port: server.port, user: "bench", privateKeyPath: keyPath, cloudInit: false, runtime: false };

    const kept = new VmHandle(target, knownHosts);
    await kept.exec("true"); // warm-up: the first handshake is not part of the kept-connection figure
    const keptSamples: number[] = [];
    for (let i = 0; i < iterations; i++) keptSamples.push(await timed(() => kept.exec("true")));
    await kept.close();

    const freshSamples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      freshSamples.push(
        await timed(async () => {
          const handle = new VmHandle(target, knownHosts);
          await handle.exec("true");
          await handle.close();
        }),
      );
    }

    const keptFigures = figures(keptSamples);
    const freshFigures = figures(freshSamples);
    const result = {
      benchmark: "exec-latency",
      node: process.version,
      keptConnection: keptFigures,
      newConnectionPerCommand: freshFigures,
      speedup: Math.round((freshFigures.medianMs / keptFigures.medianMs) * 10) / 10,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
