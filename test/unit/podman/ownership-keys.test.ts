import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecordStore, createKeyHandlers } from "../../../providers/kit/index.js";
import type { PodmanCli } from "../../../providers/podman/cli.js";
import { podmanOwnership } from "../../../providers/podman/ownership.js";

// The key half of podman gc, without podman: key records under the provider's root carry their environment, are
// listed as kind key and reclaimed with their files; a record naming files where we would not have put them is
// neither listed nor removable. (test/podman/gc.test.ts runs the same through the CLI on real podman.)

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "testenv-podman-keys-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const noContainers = { json: () => Promise.resolve([]) } as unknown as PodmanCli;
const unused = { delete: () => Promise.reject(new Error("not expected")) };

describe("podman gc of key pairs", () => {
  it("lists each key with the testID, prefix and state dir it was made for, and reclaims files and record", async () => {
    const records = new RecordStore(root);
    const keyDir = join(root, "artifacts", "keys");
    const keys = createKeyHandlers({ records, defaultDir: keyDir, vmsUsingKey: () => Promise.resolve([]), prefix: "ab12cd", owner: { testID: "t-1", stateDir: "/s" } });
    await keys.create({ name: "ab12cd-ssh", spec: { type: "ed25519" } });
    // A record someone planted that points at files we would never have made.
    await writeFile(join(root, "passwd"), "root:x:0:0\n");
    await writeFile(join(root, "passwd.pub"), "x\n");
    await writeFile(
      records.path("keys", "planted"),
      JSON.stringify({ name: "planted", type: "ed25519", privateKeyPath: join(root, "passwd"), publicKeyPath: join(root, "passwd.pub"), createdAt: new Date().toISOString() }),
    );
    const gc = podmanOwnership({ podman: noContainers, vms: unused, networks: unused, records });
    const owned = await gc.owned();
    expect(owned.map((o) => [o.kind, o.name, o.testID, o.prefix, o.stateDir])).toEqual([["key", "ab12cd-ssh", "t-1", "ab12cd", "/s"]]);
    expect(owned[0]?.detail).toBe(`key pair ${join(keyDir, "ab12cd-ssh")} (+ .pub)`);

    await expect(gc.reclaim({ kind: "key", name: "planted" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(existsSync(join(root, "passwd"))).toBe(true);
    await gc.reclaim({ kind: "key", name: "ab12cd-ssh" });
    expect(await readdir(keyDir)).toEqual([]);
    expect(await records.names("keys")).toEqual(["planted"]);
    await expect(gc.reclaim({ kind: "key", name: "ab12cd-ssh" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
