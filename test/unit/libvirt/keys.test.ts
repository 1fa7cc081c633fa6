import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RecordStore, createKeyHandlers, keyParams } from "../../../providers/kit/index.js";

const root = mkdtempSync(join(tmpdir(), "libvirt-keys-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function handlers(users: string[] = [], prefix?: string) {
  return createKeyHandlers({ records: new RecordStore(join(root, "data")), defaultDir: join(root, "default-keys"), vmsUsingKey: () => Promise.resolve(users), prefix });
}

describe("key types", () => {
  it.each([
    ["ed25519", undefined, "ED25519", 256],
    ["rsa", 2048, "RSA", 2048],
    ["ECDSA", 256, "ECDSA", 256],
    ["ecdsa", 384, "ECDSA", 384],
    ["ecdsa", 521, "ECDSA", 521],
  ])("%s %s: OpenSSH files, modes 0600/0644, comment kept, fingerprint equals ssh-keygen -lf", async (type, bits, label, size) => {
    const name = `8abab3-${type.toLowerCase()}-${bits ?? 0}`;
    const state = await handlers().create({ name, spec: { type, ...(bits ? { bits } : {}), comment: "ci@testenv", outputDir: join(root, "out") } });
    expect(readFileSync(state.privateKeyPath, "utf8")).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(statSync(state.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(statSync(state.publicKeyPath).mode & 0o777).toBe(0o644);
    expect(state.publicKey).toMatch(/ ci@testenv$/);
    const keygen = execFileSync("ssh-keygen", ["-lf", state.publicKeyPath], { encoding: "utf8" }).trim();
    expect(keygen).toBe(`${size} ${state.fingerprint} ci@testenv (${label})`);
    // ssh-keygen can derive the same public key from the private file: the pair is consistent and loadable.
    const derived = execFileSync("ssh-keygen", ["-y", "-f", state.privateKeyPath], { encoding: "utf8" }).trim();
    expect(derived.split(" ").slice(0, 2)).toEqual(state.publicKey.split(" ").slice(0, 2));
  });

  it.each([
    ["dsa", undefined, /unsupported key type "dsa"/],
    ["rsa", 1024, /2048-8192/],
    ["ecdsa", 300, /256, 384 or 521/],
    ["ed25519", 512, /fixed size/],
  ])("%s %s is INVALID_SPEC", (type, bits, message) => {
    expect(() => keyParams(type, bits)).toThrow(message);
  });

  it("rsa defaults to 4096 bits and ecdsa to 256", () => {
    expect(keyParams("rsa", undefined).bits).toBe(4096);
    expect(keyParams("ecdsa", undefined).bits).toBe(256);
  });
});

describe("key lifecycle", () => {
  it("get/list from a fresh handler set, ALREADY_EXISTS, BUSY, delete removes both files, then NOT_FOUND", async () => {
    const created = await handlers().create({ name: "8abab3-life", spec: { type: "ed25519" } });
    expect(created.privateKeyPath).toBe(join(root, "default-keys", "8abab3-life"));
    const fresh = handlers();
    expect(await fresh.get("8abab3-life")).toEqual(created);
    expect((await fresh.list(undefined)).map((k) => k.name)).toContain("8abab3-life");
    await expect(fresh.create({ name: "8abab3-life", spec: { type: "ed25519" } })).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    await expect(handlers(["8abab3-vm"]).delete("8abab3-life", false)).rejects.toMatchObject({ code: "RESOURCE_BUSY", message: expect.stringContaining("8abab3-vm") });
    await fresh.delete("8abab3-life", false);
    expect(() => statSync(created.privateKeyPath)).toThrow();
    expect(() => statSync(created.publicKeyPath)).toThrow();
    await expect(fresh.get("8abab3-life")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(fresh.delete("8abab3-life", false)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("lists only the keys of its own environment when it has a name prefix, as VMs and networks are listed", async () => {
    await handlers([], "aaa111").create({ name: "aaa111-key", spec: { type: "ed25519" } });
    await handlers([], "bbb222").create({ name: "bbb222-key", spec: { type: "ed25519" } });
    expect((await handlers([], "aaa111").list(undefined)).map((k) => k.name)).toEqual(["aaa111-key"]);
    expect((await handlers([], "bbb222").list(undefined)).map((k) => k.name)).toEqual(["bbb222-key"]);
    expect((await handlers().list(undefined)).map((k) => k.name)).toEqual(expect.arrayContaining(["aaa111-key", "bbb222-key"]));
    // get and delete still work by name: the orchestrator deletes what its state recorded.
    await handlers([], "bbb222").delete("aaa111-key", false);
    await handlers().delete("bbb222-key", false);
  });

  it("refuses names that would escape the key directory", async () => {
    await expect(handlers().create({ name: "../evil", spec: { type: "ed25519" } })).rejects.toMatchObject({ code: "INVALID_SPEC" });
  });
});
