// Example for docs/client.md (type-checked in CI). Your code imports from "testenv-vm/client".
import type { TestEnvArtifact } from "../../api/forge.js";
import { ExecError, HostKeyMismatchError, openEnvironment } from "../../src/client/index.js";

export async function fromForgeRunner(): Promise<void> {
  // Under `forge test run <stage>`: the runner's variables are all it takes.
  await using env = await openEnvironment({ fromEnv: process.env });
  const web = env.vm("web");
  await web.waitReady({ timeoutMs: 180_000 });

  // An array is argv: every element arrives as one argument, whatever it contains. Never quote yourself.
  const { stdout } = await web.exec(["cat", "/etc/os-release"], { check: true });
  console.log(stdout);

  // A string is shell source, run as written (pipes, redirections, globbing).
  const disk = await web.exec("df -h / | tail -1");
  console.log(disk.exitCode, disk.stdout);

  // env, sudo, cwd, stdin and a timeout are options, not string building.
  await web.exec(["systemctl", "restart", "nginx"], { sudo: true, check: true, timeoutMs: 60_000 });
  await web.exec(["make", "test"], { cwd: "/srv/app", env: { CI: "1", MESSAGE: "it's $(not) expanded" } });
  await web.exec(["tee", "/tmp/input.txt"], { stdin: "hello\n" });
}

export async function filesAndErrors(artifact: TestEnvArtifact, forgeTmpDir: string): Promise<void> {
  // From the artifact `create` returned; its files are relative to Forge's tmpDir.
  await using env = await openEnvironment({ artifact, tmpDir: forgeTmpDir });
  const web = env.vm("web");

  await web.writeFile("/tmp/app.conf", "listen 8080\n", { mode: 0o644 });
  await web.copyTo("./fixtures/data.tar.gz", "~/data.tar.gz");
  await web.copyFrom("/var/log/syslog", "./artifacts/web-syslog.txt");
  const config = await web.readFile("/tmp/app.conf", "utf8");
  console.log(config);

  try {
    await web.exec(["false"], { check: true });
  } catch (error) {
    if (error instanceof ExecError) console.error(error.host, error.command, error.exitCode, error.stderr);
    else if (error instanceof HostKeyMismatchError) console.error(error.expectedFingerprint, error.actualFingerprint);
    else throw error;
  }
}

export async function fromTheStateFile(): Promise<void> {
  // By testID, from the state file (e.g. in a script after `testenv-vm create`).
  await using env = await openEnvironment({ testID: "test-e2e-20260101-abcd1234", stateDir: ".forge/testenv-vm" });
  for (const name of env.vms()) {
    const { stdout } = await env.vm(name).exec(["hostname"]);
    console.log(name, stdout.trim());
  }
  // Another login user than the one the environment records:
  await env.vm("web", { user: "root" }).exec(["id"]);
}
