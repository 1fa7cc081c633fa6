// The design's 4-resource environment created to SSH-ready on the second (remote) test host, reached only over
// SSH (scripts/testhost-remote.sh), against the same environment on the local test host, in the same run and
// interleaved so both see the same load. Each create and delete runs from a fresh `testenv-vm --mcp` process.
// Run inside the test host: `npm run build && scripts/testhost.sh exec -- node dist/bench/libvirt-remote.js [pairs]`
// (it starts the remote host and stops it at the end).
import { remoteProviderSpec, startRemoteHost, stopRemoteHost } from "../test/helpers/remote-host.js";
import { describe, fourResourceSpec, seconds, timeEnvironment, tinyImage, type Timing } from "./libvirt-common.js";
import { median } from "./stats.js";

const pairs = Math.max(Number(process.argv[2] ?? 5), 5);

async function main(): Promise<void> {
  const image = tinyImage();
  const host = startRemoteHost();
  process.stderr.write(`remote test host up in ${host.startMs} ms\n`);
  const local = fourResourceSpec(image);
  const remote = { ...fourResourceSpec(image), providers: [{ name: "remote", engine: "testenv-vm-provider-libvirt", spec: remoteProviderSpec(host) }] };
  const timings: Record<"local" | "remote", Timing[]> = { local: [], remote: [] };
  try {
    for (let pair = 0; pair < pairs; pair++) {
      // Alternate who goes first so a load trend does not favour one side.
      const order = pair % 2 === 0 ? (["remote", "local"] as const) : (["local", "remote"] as const);
      for (const where of order) {
        const timing = await timeEnvironment(where === "remote" ? remote : local);
        timings[where].push(timing);
        process.stderr.write(`pair ${pair + 1}/${pairs} ${where}: create ${seconds(timing.createMs)} s, delete ${seconds(timing.deleteMs)} s\n`);
      }
    }
  } finally {
    stopRemoteHost();
  }
  const create = (where: "local" | "remote") => timings[where].map((t) => t.createMs);
  const remove = (where: "local" | "remote") => timings[where].map((t) => t.deleteMs);
  const lines = [
    `remote create to SSH-ready: ${describe(create("remote"))}`,
    `local  create to SSH-ready: ${describe(create("local"))}`,
    `remote delete:              ${describe(remove("remote"))}`,
    `local  delete:              ${describe(remove("local"))}`,
    `remote/local create (median/median): ${(median(create("remote")) / median(create("local"))).toFixed(2)}x`,
  ];
  process.stdout.write(`${lines.join("\n")}\n${JSON.stringify({ pairs, ...timings })}\n`);
}

await main();
