// Containers through testenv-vm's podman provider vs the same steps with the podman CLI by hand:
// `node dist/bench/podman-cycle.js [runs]` (root, after npm run build; the base image is built on first use).
// Each run is an interleaved pair (provider, then by hand) in a network namespace of its own; figures are medians.
//   ready: create → first successful SSH command with the generated key
//   cycle: create → ready, stop, start → ready, delete
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { forceRemoveAll, newEnv, podman, startPodmanProvider } from "../test/podman/support.js";
import { inOwnNetns, sshReady, timed } from "./podman-common.js";
import { spread } from "./stats.js";



async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const env = newEnv("bench");
  const scratch = await mkdtemp("/tmp/testenv-vm-bench-podman-");
  const provider = await startPodmanProvider(env);
  const samples = { providerReady: [] as number[], handReady: [] as number[], providerCycle: [] as number[], handCycle: [] as number[] };
  try {
    const key = (await provider.call("key_create", { name: env.name("key"), spec: { type: "ed25519" } })).resource as { privateKeyPath: string; publicKeyPath: string };
    const privateKey = await readFile(key.privateKeyPath, "utf8");
    const spec = { memory: 256, vcpus: 1, boot: { order: ["hd"] }, readiness: { ssh: { enabled: true, user: "root", privateKey: key.privateKeyPath, timeout: "60s" } } };
    // Warm-up: the base image is found (or built) and podman's default network exists.
    const warm = await provider.call("vm_create", { name: env.name("warm"), spec });
    if (!warm.success) throw new Error(`warm-up create failed: ${JSON.stringify(warm.error)}`);
    const image = String((warm.resource as { providerState: { image: string } }).providerState.image);
    await provider.call("vm_delete", { name: env.name("warm") });

    for (let run = 0; run < runs; run++) {
      const name = env.name(`c${run}`);
      let ready = 0;
      samples.providerCycle.push(
        await timed(async () => {
          ready = await timed(async () => {
            const created = await provider.call("vm_create", { name, spec });
            if (!created.success) throw new Error(JSON.stringify(created.error));
          });
          await provider.call("vm_stop", { name, timeoutSeconds: 10 });
          await provider.call("vm_start", { name });
          await provider.call("vm_delete", { name });
        }),
      );
      samples.providerReady.push(ready);

      const hand = `${env.prefix}-hand${run}`;
      samples.handCycle.push(
        await timed(async () => {
          ready = await timed(async () => {
            podman("run", "--detach", "--name", hand, "--hostname", hand, "--memory", "256m", "--cpus", "1", "--volume", `${key.publicKeyPath}:/root/.ssh/authorized_keys:ro`, image);
            await sshReady(podman("inspect", "--format", "{{.NetworkSettings.IPAddress}}", hand).trim(), privateKey);
          });
          podman("stop", "--time", "10", hand);
          podman("start", hand);
          await sshReady(podman("inspect", "--format", "{{.NetworkSettings.IPAddress}}", hand).trim(), privateKey);
          podman("rm", "--force", "--volumes", "--time", "2", hand);
        }),
      );
      samples.handReady.push(ready);
    }
    await provider.call("key_delete", { name: env.name("key") });
  } finally {
    await provider.close();
    forceRemoveAll(env);
    await rm(scratch, { recursive: true, force: true });
    await rm(env.root, { recursive: true, force: true });
  }
  const ms = (value: number): string => value.toFixed(0);
  const ratio = (a: number[], b: number[]): string => (a.reduce((x, y) => x + y, 0) / b.reduce((x, y) => x + y, 0)).toFixed(2);
  console.log(`podman: create → SSH ready   provider ${spread(samples.providerReady, "ms", ms)}`);
  console.log(`                             by hand  ${spread(samples.handReady, "ms", ms)}  (provider/hand ${ratio(samples.providerReady, samples.handReady)})`);
  console.log(`podman: up/stop/start/rm     provider ${spread(samples.providerCycle, "ms", ms)}`);
  console.log(`                             by hand  ${spread(samples.handCycle, "ms", ms)}  (provider/hand ${ratio(samples.providerCycle, samples.handCycle)})`);
}

// The containers are reachable only inside the namespace, so the benchmark runs itself again in there (by hand,
// ssh would too); the outer process only makes and removes the namespace.
await inOwnNetns(import.meta.url, main);
