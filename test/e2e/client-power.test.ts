import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestEnvArtifact } from "../../api/forge.js";
import { TestenvError, openEnvironment, type Environment } from "../../src/client/index.js";
import { readStubStore } from "../helpers/stub-store.js";
import type { LoopbackSshServer } from "./client-ssh-server.js";
import { loopbackPlace } from "./loopback-env.js";

// handle.stop() / handle.start() and env.status() on the stub, whose VM points at a real SSH server on loopback:
// the power goes through the orchestrator (recorded in the state), the kept connection is closed on stop, and the
// next command after start connects anew.

const place = loopbackPlace("client-power");
const { root, tmpDir, storePath, state } = place;
let server: LoopbackSshServer;
let artifact: TestEnvArtifact;
let env: Environment;

const storedStatus = (): unknown => readStubStore(storePath)?.vms[`${state().prefix}-web`]?.status;

beforeAll(async () => {
  ({ server, artifact, env } = await place.start(["web"]));
});

afterAll(() => place.close());

describe("VmHandle.stop() and start()", () => {
  it("stop closes the kept connection and records the VM stopped; start brings it back and the handle reconnects", async () => {
    const web = env.vm("web");
    expect((await web.exec("echo up")).stdout).toBe("up\n");
    expect(web.connectionCount).toBe(1);
    const connectionsBefore = server.connections;

    const stopped = await web.stop({ timeoutSeconds: 10 });
    expect(stopped).toMatchObject({ status: "stopped", stopMethod: "graceful" });
    expect(storedStatus()).toBe("stopped");
    expect(state().resources.vms.web?.state).toMatchObject({ status: "stopped" });
    expect(env.recordedState?.resources.vms.web?.state).toMatchObject({ status: "stopped" });
    const live = await env.status();
    expect(live.resources.find((r) => r.kind === "vm")).toMatchObject({ name: "web", live: "stopped", recordedPower: "stopped" });
    expect(live.inSync).toBe(true);

    // The stub's "guest" never goes away, so a command now shows that stop closed the kept connection: a new one.
    expect((await web.exec("echo still")).stdout).toBe("still\n");
    expect(server.connections - connectionsBefore).toBe(1);
    expect(web.connectionCount).toBe(2);

    const again = await web.stop({ force: true });
    expect(again.stopMethod).toBe("already-stopped");

    const started = await web.start();
    expect(started).toMatchObject({ status: "running", ip: server.host });
    expect((await env.status()).resources.find((r) => r.kind === "vm")).toMatchObject({ live: "running" });
    // start, too, leaves the handle to connect anew (the VM's address may have changed).
    expect((await web.exec("echo back")).stdout).toBe("back\n");
    expect(server.connections - connectionsBefore).toBe(2);
    expect(web.connectionCount).toBe(3);
  });

  it("env.status() reports a VM deleted behind the tool's back as missing", async () => {
    const prefix = state().prefix;
    const store = readStubStore(storePath)!;
    const saved = store.vms[`${prefix}-web`];
    delete store.vms[`${prefix}-web`];
    writeFileSync(storePath, JSON.stringify(store));
    try {
      const live = await env.status();
      expect(live.inSync).toBe(false);
      expect(live.resources.find((r) => r.kind === "vm")).toMatchObject({ live: "missing", recorded: "ready" });
      expect(live.mismatches).toEqual([`vm web: the state file records it ready, but provider stub has no ${prefix}-web`]);
    } finally {
      store.vms[`${prefix}-web`] = saved!;
      writeFileSync(storePath, JSON.stringify(store));
    }
  });

  it("bad options are refused before anything happens", async () => {
    const error = await env.vm("web").stop({ timeoutSeconds: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestenvError);
    expect(error).toMatchObject({ code: "INPUT_INVALID", message: "timeoutSeconds: 0 is not a whole number of seconds from 1 to 3600" });
    expect(storedStatus()).toBe("running");
  });

  it("a handle without the state file cannot power its VM, and says why", async () => {
    const { "testenv-vm.stateDir": _stateDir, ...metadata } = artifact.metadata;
    await using flat = await openEnvironment({ artifact: { ...artifact, metadata }, tmpDir }, { rootDir: join(root, "elsewhere") });
    expect(flat.recordedState).toBeUndefined();
    const error = await flat.vm("web").stop().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "STATE_NOT_FOUND" });
    expect((error as Error).message).toMatch(/^stop needs the environment's state file/);
    await expect(flat.status()).rejects.toMatchObject({ code: "STATE_NOT_FOUND" });
    expect(storedStatus()).toBe("running");
  });

  it("a runtime VM stops and starts like a spec VM", async () => {
    await using extra = await env.createVM("extra", { memory: 256, vcpus: 1, networks: ["net"], disk: { size: "1G" } });
    expect((await extra.stop()).stopMethod).toBe("graceful");
    expect((await extra.start()).status).toBe("running");
    expect((await extra.exec("echo runtime")).stdout).toBe("runtime\n");
  });
});
