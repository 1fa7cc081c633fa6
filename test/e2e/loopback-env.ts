import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestEnvArtifact } from "../../api/forge.js";
import type { EnvironmentState } from "../../api/state.js";
import { openEnvironment, type Environment } from "../../src/client/index.js";
import { Orchestrator } from "../../src/orchestrator/orchestrator.js";
import { startSshServer, type LoopbackSshServer, type LoopbackSshServerOptions } from "./client-ssh-server.js";

// An environment on the stub whose VMs all point at one real SSH server on loopback: the client library's kept
// connections, reconnects, power and snapshots are seen against a server that speaks SSH. The paths and the
// orchestrator exist at once (a test file names them at module level); start() makes the server and the environment.

export interface LoopbackPlace {
  root: string;
  stateDir: string;
  tmpDir: string;
  home: string;
  storePath: string;
  testID: string;
  orchestrator: Orchestrator;
  /** The environment's state file as it is now. */
  state: () => EnvironmentState;
  /** The SSH server, then `vms` created (each a VM user `tester` logs in to with the key `vm-ssh`) and opened. */
  start(vms: readonly string[], options?: StartOptions): Promise<{ server: LoopbackSshServer; artifact: TestEnvArtifact; env: Environment }>;
  /** Closes the environment's handles, deletes it, stops the server and removes every file. */
  close(): Promise<void>;
}

export interface StartOptions {
  server?: Omit<LoopbackSshServerOptions, "home">;
  /** Runs between the create and the opening of the environment. */
  afterCreate?: (artifact: TestEnvArtifact) => void;
}

export function loopbackPlace(tag: string): LoopbackPlace {
  const root = mkdtempSync(join(tmpdir(), `testenv-${tag}-`));
  const stateDir = join(root, "state");
  const tmpDir = join(root, "tmp");
  const home = join(root, "home");
  const storePath = join(root, "stub-store.json");
  const testID = `${tag}-${randomBytes(4).toString("hex")}`;
  const orchestrator = new Orchestrator({ rootDir: root, env: { ...process.env, TESTENV_VM_STATE_DIR: stateDir } });
  let server: LoopbackSshServer | undefined;
  let env: Environment | undefined;
  return {
    root,
    stateDir,
    tmpDir,
    home,
    storePath,
    testID,
    orchestrator,
    state: () => JSON.parse(readFileSync(join(stateDir, "state", `testenv-${testID}.json`), "utf8")) as EnvironmentState,
    async start(vms, options = {}) {
      mkdirSync(home, { recursive: true });
      server = await startSshServer({ ...options.server, home });
      const spec = {
        providers: [{ name: "stub", engine: "testenv-vm-provider-stub", spec: { store: storePath, writeKeyFiles: true, sshEndpoint: { host: server.host, port: server.port, user: "tester" } } }],
        keys: [{ name: "vm-ssh", spec: { type: "ed25519" } }],
        networks: [{ name: "net", kind: "bridge", spec: { cidr: "192.168.100.1/24" } }],
        vms: vms.map((name) => ({
          name,
          spec: { memory: 512, vcpus: 1, networks: ["net"], disk: { size: "1G" }, cloudInit: { users: [{ name: "tester", sshAuthorizedKeys: ["{{ .Keys.vm-ssh.PublicKey }}"] }] } },
        })),
      };
      const artifact = await orchestrator.create({ testID, stage: "e2e", tmpDir, rootDir: root, metadata: {}, env: {}, spec });
      options.afterCreate?.(artifact);
      env = await openEnvironment({ artifact, tmpDir });
      return { server, artifact, env };
    },
    async close() {
      await env?.close();
      await orchestrator.delete({ testID }, { stateDir }).catch(() => undefined);
      await server?.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
