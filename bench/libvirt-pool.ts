// Six of the design's 4-resource environments created at once, each from its own `testenv-vm --mcp` process as
// Forge starts them: on a pool of the local and the second (remote, over SSH) test host, against all six on the
// local host alone. Rounds alternate so both see the same load; a round's figure is the wall time until the last
// of its six is SSH-ready (and until the last is deleted).
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/libvirt-pool.js [rounds]`
// (it starts the remote host and stops it at the end).
import { performance } from "node:perf_hooks";
import { startRemoteHost, stopRemoteHost } from "../test/helpers/remote-host.js";
import { describe, fourResourceSpec, seconds, timeEnvironment, tinyImage, type Timing } from "./libvirt-common.js";
import { median } from "./stats.js";

const ENVIRONMENTS = 6;
const rounds = Math.max(Number(process.argv[2] ?? 3), 1);

interface Round {
  /** Until the last of the six was SSH-ready. */
  createWallMs: number;
  /** Until the last of the six was deleted, from its own create's end. */
  deleteWallMs: number;
  each: Timing[];
}

async function round(spec: Record<string, unknown>): Promise<Round> {
  const started = performance.now();
  const each = await Promise.all(Array.from({ length: ENVIRONMENTS }, () => timeEnvironment(spec)));
  return { createWallMs: Math.max(...each.map((t) => t.createMs)), deleteWallMs: performance.now() - started - Math.min(...each.map((t) => t.createMs)), each };
}

async function main(): Promise<void> {
  const image = tinyImage();
  const host = startRemoteHost();
  process.stderr.write(`remote test host up in ${host.startMs} ms\n`);
  const one = fourResourceSpec(image);
  const pool = {
    ...fourResourceSpec(image),
    providers: [
      {
        name: "libvirt",
        engine: "testenv-vm-provider-libvirt",
        spec: { accelerator: "tcg", hosts: [{ uri: "qemu:///system" }, { uri: host.uri, ssh: { key: host.key, knownHosts: host.knownHosts } }] },
      },
    ],
  };
  const results: Record<"pool" | "one", Round[]> = { pool: [], one: [] };
  try {
    for (let n = 0; n < rounds; n++) {
      const order = n % 2 === 0 ? (["pool", "one"] as const) : (["one", "pool"] as const);
      for (const where of order) {
        const result = await round(where === "pool" ? pool : one);
        results[where].push(result);
        process.stderr.write(`round ${n + 1}/${rounds} ${where}: last SSH-ready after ${seconds(result.createWallMs)} s, each ${result.each.map((t) => seconds(t.createMs)).join(" ")} s\n`);
      }
    }
  } finally {
    stopRemoteHost();
  }
  const wall = (where: "pool" | "one") => results[where].map((r) => r.createWallMs);
  const each = (where: "pool" | "one") => results[where].flatMap((r) => r.each.map((t) => t.createMs));
  const lines = [
    `pool of 2 hosts, ${ENVIRONMENTS} at once, last SSH-ready: ${describe(wall("pool"))}`,
    `one host,        ${ENVIRONMENTS} at once, last SSH-ready: ${describe(wall("one"))}`,
    `pool, each create:  ${describe(each("pool"))}`,
    `one,  each create:  ${describe(each("one"))}`,
    `pool/one (median of the rounds' last SSH-ready): ${(median(wall("pool")) / median(wall("one"))).toFixed(2)}x`,
  ];
  process.stdout.write(`${lines.join("\n")}\n${JSON.stringify({ rounds, ...results })}\n`);
}

await main();
