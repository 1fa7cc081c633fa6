import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storedResources } from "../helpers/stub-store.js";
import { startSshServer, type LoopbackSshServer } from "./client-ssh-server.js";

// testenv-vm as a consumer gets it: `npm pack`, a fresh project that installs only the tarball and @types/node,
// a strict type-check over every export-map entry, each entry imported by package name, and a vitest suite on the
// stub provider (whose VMs are a loopback SSH server). One pack and one install serve every case.
//
// Install scripts are skipped: the stub path must work without them (ssh2's and cpu-features' native builds are
// optional speed-ups, @unraid/libvirt is only for the libvirt provider). vitest is the consumer's own runner: the
// project links this repository's copy (an optional peer of testenv-vm) so that the run needs no download.

const REPO = resolve(import.meta.dirname, "../..");
const REPO_MODULES = join(REPO, "node_modules");
const TSC = join(REPO_MODULES, "typescript/bin/tsc");
const ENTRIES = ["testenv-vm", "testenv-vm/api", "testenv-vm/client", "testenv-vm/vitest", "testenv-vm/provider-kit"];

const root = mkdtempSync(join(tmpdir(), "testenv-consumer-"));
const project = join(root, "project");
const store = join(root, "stub-store.json");
let server: LoopbackSshServer;

interface Run {
  code: number;
  output: string;
}

/** The environment of a shell outside this test run: no npm_* of the npm that started vitest, no VITEST*. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([key]) => !/^(npm_|VITEST|TESTENV_VM_)/i.test(key) && key !== "NODE_ENV" && key !== "TEST" && key !== "INIT_CWD",
  );
  return { ...Object.fromEntries(kept), ...extra };
}

function runIn(cwd: string, command: string, args: string[], timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(command, args, { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolveRun({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

async function mustRun(cwd: string, command: string, args: string[]): Promise<string> {
  const run = await runIn(cwd, command, args);
  if (run.code !== 0) throw new Error(`${command} ${args.join(" ")} failed (${run.code}):\n${run.output}`);
  return run.output;
}

const write = (path: string, text: string): void => {
  mkdirSync(resolve(path, ".."), { recursive: true });
  writeFileSync(path, text);
};

function writeProject(): void {
  write(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  write(join(project, ".gitignore"), "node_modules/\n.forge/\n");
  write(
    join(project, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          verbatimModuleSyntax: true,
        },
        include: ["*.ts", "test/**/*.ts"],
      },
      null,
      2,
    ),
  );
  const spec = {
    providers: [
      {
        name: "stub",
        engine: "testenv-vm-provider-stub",
        spec: { store, writeKeyFiles: true, sshEndpoint: { host: server.host, port: server.port, user: "tester" } },
      },
    ],
    keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
    networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
    vms: [
      {
        name: "web",
        spec: { memory: 512, vcpus: 1, networks: ["net"], disk: { size: "1G" }, cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] } },
      },
    ],
  };
  // forge.yaml as Forge reads it (JSON is YAML).
  write(join(project, "forge.yaml"), JSON.stringify({ testenv: [{ name: "vm-env", engine: "testenv-vm", spec }] }, null, 2));

  // Every export-map entry, used the way a consumer would, so that their declarations are checked for real.
  write(
    join(project, "entries.ts"),
    `import { Orchestrator, TestenvError, isTestenvError, parseSpecText, type EnvironmentSummary } from "testenv-vm";
import { Spec, VMSpec, type TestEnvArtifact } from "testenv-vm/api";
import { ExecError, FileTransferError, openEnvironment, type Environment, type ExecResult, type VmHandle } from "testenv-vm/client";
import { setupTestEnv, useTestEnv, type SetupTestEnvOptions } from "testenv-vm/vitest";
import { ProviderError, runProviderMain, type ProviderImplementation } from "testenv-vm/provider-kit";

export async function useEverything(artifact: TestEnvArtifact): Promise<string[]> {
  const orchestrator = new Orchestrator({ rootDir: "." });
  const parsed = parseSpecText("keys: []\\n");
  const summary: EnvironmentSummary | undefined = undefined;
  await using env: Environment = await openEnvironment({ artifact });
  const web: VmHandle = env.vm("web");
  const result: ExecResult = await web.exec(["true"], { check: true, stdin: Buffer.from("x") });
  const bytes: Buffer = await web.readFile("/etc/hostname");
  const options: SetupTestEnvOptions = { spec: "forge.yaml" };
  const implementation: Partial<ProviderImplementation> = {};
  const errors = [new ProviderError("NOT_FOUND", "x"), new TestenvError("INTERNAL", "x")];
  const codes = errors.map((e) => (isTestenvError(e) ? e.code : e.code));
  const exitCode: number | null = result.exitCode;
  void [orchestrator, parsed, summary, bytes, options, implementation, exitCode, setupTestEnv, useTestEnv, runProviderMain];
  void [Spec.safeParse({}).success, VMSpec, ExecError, FileTransferError];
  return codes;
}
`,
  );
  write(
    join(project, "entries-runtime.mjs"),
    `const entries = ${JSON.stringify(ENTRIES)};\nconst found = {};\nfor (const entry of entries) found[entry] = Object.keys(await import(entry)).sort();\nprocess.stdout.write(JSON.stringify(found));\n`,
  );

  write(join(project, "vitest.config.ts"), `import { defineConfig } from "vitest/config";\n\nexport default defineConfig({ test: { include: ["test/**/*.test.ts"], globalSetup: ["./test/global-setup.ts"], testTimeout: 60_000, hookTimeout: 120_000 } });\n`);
  write(join(project, "test/global-setup.ts"), `import { setupTestEnv } from "testenv-vm/vitest";\n\nexport default setupTestEnv({ spec: "forge.yaml", name: "vm-env" });\n`);
  write(
    join(project, "test/vm.test.ts"),
    `import { expect, inject, it } from "vitest";
import { FileTransferError, type VMSpec } from "testenv-vm/client";
import { useTestEnv } from "testenv-vm/vitest";

const env = await useTestEnv();

const workerSpec: VMSpec = {
  memory: 256,
  vcpus: 1,
  networks: ["net"],
  disk: { size: "1G" },
  cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] },
};

it("runs commands in the environment's VM", async () => {
  const result = await env.vm("web").exec(["echo", "hello from", inject("testenvVm").testID]);
  expect(result.stdout).toBe("hello from " + env.testID + "\\n");
  expect(env.vm("web").host).toBe("127.0.0.1");
});

it("moves files, and names the path when one is missing", async () => {
  await env.vm("web").writeFile("consumer/hello.txt", "hi\\n", { mode: 0o640 });
  expect(await env.vm("web").readFile("consumer/hello.txt", "utf8")).toBe("hi\\n");
  await expect(env.vm("web").readFile("/nonexistent/file")).rejects.toBeInstanceOf(FileTransferError);
});

it("creates a runtime VM and deletes it at the end of the block", async () => {
  {
    await using worker = await env.createVM("worker", workerSpec);
    expect(worker.providerName).toBe(env.prefix + "-worker");
    expect((await worker.exec("echo runtime", { check: true })).stdout).toBe("runtime\\n");
    expect(env.vms().sort()).toEqual(["web", "worker"]);
  }
  await env.refresh();
  expect(env.vms()).toEqual(["web"]);
});

it("leaves a runtime VM for the teardown to delete", async () => {
  await env.createVM("left-behind", workerSpec);
  expect(env.vms()).toContain("left-behind");
});
`,
  );
}

/** Files under a directory, relative to it (directories themselves are not listed). */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(dir, path));
    }
  };
  try {
    walk(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return found.sort();
}

beforeAll(async () => {
  const home = join(root, "home");
  mkdirSync(home, { recursive: true });
  server = await startSshServer({ home });
  writeProject();

  const packed = JSON.parse(await mustRun(REPO, "npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", root])) as Array<{ filename: string }>;
  const tarball = join(root, packed[0]?.filename ?? "missing.tgz");
  const typesNode = (JSON.parse(readFileSync(join(REPO_MODULES, "@types/node/package.json"), "utf8")) as { version: string }).version;
  await mustRun(project, "npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--save-dev", tarball, `@types/node@${typesNode}`]);
  symlinkSync(realpathSync(join(REPO_MODULES, "vitest")), join(project, "node_modules", "vitest"));
}, 300_000);

afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("a consumer project built from the packed tarball", () => {
  it("installed testenv-vm with its runtime dependencies only", () => {
    const installed = JSON.parse(readFileSync(join(project, "node_modules/testenv-vm/package.json"), "utf8")) as { name: string };
    expect(installed.name).toBe("testenv-vm");
    expect(filesUnder(join(project, "node_modules/testenv-vm")).filter((f) => f.startsWith("dist/test") || f.startsWith("dist/bench") || f.endsWith(".map"))).toEqual([]);
    expect(readdirSync(join(project, "node_modules/@types"))).toEqual(["node"]);
  });

  it("type-checks every export-map entry with strict, NodeNext and skipLibCheck false", async () => {
    const run = await runIn(project, process.execPath, [TSC, "-p", "tsconfig.json"]);
    expect(run.output.trim(), "tsc output").toBe("");
    expect(run.code).toBe(0);
  });

  it("imports every entry by package name at runtime, and runs the bin", async () => {
    const found = JSON.parse(await mustRun(project, process.execPath, ["entries-runtime.mjs"])) as Record<string, string[]>;
    expect(Object.keys(found)).toEqual(ENTRIES);
    expect(found["testenv-vm"]).toEqual(expect.arrayContaining(["Orchestrator", "TestenvError", "loadSpecFile"]));
    expect(found["testenv-vm/api"]).toEqual(expect.arrayContaining(["Spec", "TestEnvArtifact"]));
    expect(found["testenv-vm/client"]).toEqual(expect.arrayContaining(["openEnvironment", "ExecError", "FileTransferError"]));
    expect(found["testenv-vm/vitest"]).toEqual(["setupTestEnv", "useTestEnv"]);
    expect(found["testenv-vm/provider-kit"]).toEqual(expect.arrayContaining(["runProviderMain", "ProviderError"]));
    const validated = await runIn(project, join(project, "node_modules/.bin/testenv-vm"), ["validate", "--spec", "forge.yaml", "--name", "vm-env"]);
    expect(validated.code, validated.output).toBe(0);
  });

  it("runs a vitest suite on the stub: setupTestEnv, exec, files, runtime VMs, and a teardown that leaves no file behind", async () => {
    const run = await runIn(project, process.execPath, [join(project, "node_modules/vitest/vitest.mjs"), "run"], 240_000);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("4 passed");
    expect(storedResources(store)).toEqual([]);
    expect(filesUnder(join(project, ".forge"))).toEqual([]);
    expect(existsSync(join(project, ".forge", "tmp"))).toBe(false);
    // Nothing at all: the last environment took its state dirs with it.
    expect(existsSync(join(project, ".forge"))).toBe(false);
  });
});
