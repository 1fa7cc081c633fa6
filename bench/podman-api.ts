// Which way to talk to podman: its CLI (argv, one process per call) or its REST API (`podman system service` on a
// unix socket), for what matters here, a container from create to the first SSH command. Interleaved pairs in a
// network namespace of the benchmark's own: `node dist/bench/podman-api.js [runs]` (root, after npm run build and
// one podman-cycle run or test run, so the base image exists).
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import ssh2 from "ssh2";
import { retryUntil } from "../lib/retry.js";
import { baseImageTag } from "../providers/podman/image.js";
import { podman, podmanEnv } from "../test/podman/support.js";
import { inOwnNetns, sshReady, timed } from "./podman-common.js";
import { spread } from "./stats.js";

function api(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path: `/v4.3.1/libpod${path}`, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}



async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 7);
  const image = baseImageTag({ suite: "bookworm", mirror: "http://deb.debian.org/debian" });
  const dir = await mkdtemp("/tmp/testenv-vm-bench-podman-api-");
  const socket = join(dir, "podman.sock");
  const pair = ssh2.utils.generateKeyPairSync("ed25519");
  await writeFile(join(dir, "id"), pair.private, { mode: 0o600 });
  await writeFile(join(dir, "id.pub"), `${pair.public}\n`);
  const privateKey = await readFile(join(dir, "id"), "utf8");
  const service = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], { env: podmanEnv(), stdio: "ignore" });
  const cli: number[] = [];
  const rest: number[] = [];
  try {
    await retryUntil(async () => ((await api(socket, "GET", "/_ping")).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 200, retryable: () => true });
    const mount = `${join(dir, "id.pub")}:/root/.ssh/authorized_keys:ro`;
    for (let run = 0; run < runs; run++) {
      const byCli = `benchcli${run}`;
      cli.push(
        await timed(async () => {
          podman("run", "--detach", "--name", byCli, "--memory", "256m", "--cpus", "1", "--volume", mount, image);
          await sshReady(podman("inspect", "--format", "{{.NetworkSettings.IPAddress}}", byCli).trim(), privateKey);
        }),
      );
      podman("rm", "--force", "--time", "0", byCli);
      const byApi = `benchapi${run}`;
      rest.push(
        await timed(async () => {
          const created = await api(socket, "POST", "/containers/create", {
            name: byApi,
            image,
            resource_limits: { memory: { limit: 256 * 1024 * 1024 }, cpu: { quota: 100_000, period: 100_000 } },
            mounts: [{ destination: "/root/.ssh/authorized_keys", source: join(dir, "id.pub"), type: "bind", options: ["ro"] }],
          });
          if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
          await api(socket, "POST", `/containers/${byApi}/start`);
          const info = JSON.parse((await api(socket, "GET", `/containers/${byApi}/json`)).text) as { NetworkSettings: { IPAddress: string } };
          await sshReady(info.NetworkSettings.IPAddress, privateKey);
        }),
      );
      await api(socket, "DELETE", `/containers/${byApi}?force=true&t=0`);
    }
  } finally {
    service.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
  const ms = (value: number): string => value.toFixed(0);
  console.log(`podman create → SSH ready  CLI  ${spread(cli, "ms", ms)}`);
  console.log(`                           REST ${spread(rest, "ms", ms)}`);
}

await inOwnNetns(import.meta.url, main);
