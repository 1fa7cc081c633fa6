import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { HostKeyMismatchError } from "../../../src/client/errors.js";
import { hostKeyFingerprint, hostKeyType, KnownHostsStore } from "../../../src/client/known-hosts.js";

const dir = mkdtempSync(join(tmpdir(), "testenv-known-hosts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const blobOf = (publicLine: string): Buffer => Buffer.from(publicLine.split(" ")[1] ?? "", "base64");
const keyA = blobOf(utils.generateKeyPairSync("ed25519").public);
const keyB = blobOf(utils.generateKeyPairSync("ed25519").public);
const web = { vm: "web", host: "192.168.50.10", port: 22, user: "ubuntu" };

describe("KnownHostsStore", () => {
  it("fingerprints like OpenSSH and reads the key type", () => {
    expect(hostKeyFingerprint(keyA)).toBe(`SHA256:${createHash("sha256").update(keyA).digest("base64").replace(/=+$/, "")}`);
    expect(hostKeyType(keyA)).toBe("ssh-ed25519");
    expect(hostKeyType(Buffer.from([1, 2]))).toBe("unknown");
  });

  it("records on first use, accepts the same key, refuses a new key at the same ip:port naming both fingerprints", async () => {
    const store = new KnownHostsStore(join(dir, "a", "known_hosts.json"));
    expect(await store.verify(web, keyA)).toBe("recorded");
    expect(await store.verify(web, keyA)).toBe("known");
    expect(statSync(store.path).mode & 0o777).toBe(0o600);

    const error = await store.verify({ ...web, vm: "web-2" }, keyB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    expect(mismatch.code).toBe("SSH_ERROR");
    expect(mismatch.expectedFingerprint).toBe(hostKeyFingerprint(keyA));
    expect(mismatch.actualFingerprint).toBe(hostKeyFingerprint(keyB));
    expect(mismatch.message).toContain("192.168.50.10:22");
    expect(mismatch.message).toContain('vm "web"');
    expect(mismatch.message).toContain(store.path);

    // Another port on the same address is another endpoint.
    expect(await store.verify({ ...web, port: 2222 }, keyB)).toBe("recorded");
  });

  it("forgets a deleted VM's entries, so a VM recreated at that address is trusted again", async () => {
    const store = new KnownHostsStore(join(dir, "b", "known_hosts.json"));
    await store.verify(web, keyA);
    expect(await store.forgetVm("web")).toBe(1);
    expect(await store.verify(web, keyB)).toBe("recorded");
  });

  it("keeps every entry when many workers record at once", async () => {
    const path = join(dir, "c", "known_hosts.json");
    const stores = Array.from({ length: 20 }, () => new KnownHostsStore(path));
    await Promise.all(stores.map((store, i) => store.verify({ ...web, vm: `vm-${i}`, host: `10.1.0.${i}` }, i % 2 ? keyA : keyB)));
    const file = JSON.parse(readFileSync(path, "utf8")) as { hosts: Record<string, unknown> };
    expect(Object.keys(file.hosts)).toHaveLength(20);
  });

  it("reports a corrupt file with its path instead of trusting anything", async () => {
    const path = join(dir, "d.json");
    writeFileSync(path, "{not json");
    await expect(new KnownHostsStore(path).verify(web, keyA)).rejects.toThrow(`known hosts file ${path} is not valid JSON`);
  });
});
