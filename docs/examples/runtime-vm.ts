// Example for docs/runtime-vm-creation.md (type-checked in CI). Your code imports from "testenv-vm/client".
import { openEnvironment, type VMSpec } from "../../src/client/index.js";

// Templates see the environment's context: keys, networks, images, .Env; names are the spec's logical names.
const workerSpec: VMSpec = {
  memory: 1024,
  vcpus: 1,
  networks: ["test-net"],
  disk: { baseImage: "{{ .Images.ubuntu.Path }}", size: "10G" },
  cloudInit: {
    hostname: "worker",
    users: [{ name: "ubuntu", sudo: "ALL=(ALL) NOPASSWD:ALL", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }],
    runcmd: ["echo joined {{ .Networks.test-net.IP }} > /etc/joined"],
  },
  // createVM waits for these: SSH works and cloud-init (and so the runcmd above) has finished.
  readiness: { ssh: { enabled: true, timeout: "3m" }, cloudInit: { enabled: true } },
};

export async function scaleOut(): Promise<void> {
  await using env = await openEnvironment({ fromEnv: process.env });

  // Deleted when the block ends, even if an assertion throws.
  {
    // createVM returned after the readiness checks: no waitReady() needed.
    await using worker = await env.createVM("worker", workerSpec);
    const joined = await worker.readFile("/etc/joined", "utf8");
    console.log(worker.providerName, joined); // "<prefix>-worker", like every resource of the environment
  }

  // Several at once is safe: each is recorded in the state file under its lock.
  const workers = await Promise.all(["w1", "w2", "w3"].map((name) => env.createVM(name, { ...workerSpec, cloudInit: { ...workerSpec.cloudInit, hostname: name } })));
  await Promise.all(workers.map((vm) => vm.exec(["uptime"], { check: true })));

  // Explicit deletion, by handle or by name (also for a VM another process created).
  await workers[0]?.delete();
  await env.deleteVM("w2");
  // w3 is left on purpose: `testenv-vm delete` (or Forge's cleanup) removes it with the environment.
}
