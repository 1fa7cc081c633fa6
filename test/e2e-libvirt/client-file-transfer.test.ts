import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FileTransferError, openEnvironment, type Environment } from "../../src/client/index.js";
import { ensureTestImages } from "../helpers/images.js";
import { waitForNoLeaks } from "../helpers/leaks.js";
import { describeIfTestHost } from "../helpers/testhost.js";
import { createOverMcp, deleteIfLeft, deleteOverMcp, fourResourceSpec, leakScope, readState, textOf, workspace, type Json, type Workspace } from "./support.js";

// The client's file transfers on the tiny image (busybox + dropbear, no SFTP server): the handle falls back to
// moving files through commands over exec, byte for byte, and a transfer that fails is a non-retryable
// FileTransferError naming the path, not a "cannot connect" SshConnectionError.

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

describeIfTestHost("e2e_libvirt: client file transfer on a guest without an SFTP server", () => {
  let ws: Workspace;
  let artifact: Json;
  let env: Environment | undefined;
  let local: string;

  beforeAll(async () => {
    const images = ensureTestImages(["tiny"]);
    ws = workspace("files");
    local = mkdtempSync("/var/tmp/testenv-vm-e2e-files-");
    const result = await createOverMcp(ws, fourResourceSpec({ baseImage: images.tiny, octet: 130, hostname: "files" }));
    expect(result.isError, textOf(result)).toBeFalsy();
    artifact = result.structuredContent as Json;
    env = await openEnvironment({ artifact: artifact as never, tmpDir: ws.tmpDir });
  });

  afterAll(async () => {
    await env?.close();
    await deleteIfLeft(ws);
    rmSync(local, { recursive: true, force: true });
    ws[Symbol.dispose]();
  });

  it("the guest really has no SFTP server", async () => {
    const found = await env!.vm("test-vm").exec("for p in /usr/lib/openssh/sftp-server /usr/libexec/sftp-server /usr/lib/sftp-server /usr/libexec/openssh/sftp-server; do [ -e $p ] && echo $p; done; command -v sftp-server; true");
    expect(found.stdout.trim()).toBe("");
  });

  it("writeFile then readFile of a 1 MB binary round-trips, with the mode applied", async () => {
    const vm = env!.vm("test-vm");
    const data = randomBytes(1024 * 1024);
    await vm.writeFile("/root/transfer/one-mb.bin", data, { mode: 0o640 });
    const onGuest = await vm.exec("sha256sum /root/transfer/one-mb.bin | cut -d' ' -f1; stat -c %a /root/transfer/one-mb.bin", { check: true });
    expect(onGuest.stdout).toBe(`${sha256(data)}\n640\n`);
    const back = await vm.readFile("/root/transfer/one-mb.bin");
    expect(back.length).toBe(data.length);
    expect(back.equals(data)).toBe(true);
  });

  it("copyTo and copyFrom round-trip, relative paths in the login directory", async () => {
    const vm = env!.vm("test-vm");
    const data = randomBytes(200_000 + 11);
    writeFileSync(join(local, "up.bin"), data, { mode: 0o750 });
    await vm.copyTo(join(local, "up.bin"), "~/copied/up.bin");
    expect((await vm.exec("stat -c %a /root/copied/up.bin")).stdout.trim()).toBe("750");
    await vm.copyFrom("copied/up.bin", join(local, "down", "up.bin"));
    expect(readFileSync(join(local, "down", "up.bin")).equals(data)).toBe(true);
  });

  it("a failing transfer is a non-retryable FileTransferError naming the path", async () => {
    const vm = env!.vm("test-vm");
    const missing = await vm.readFile("/nonexistent/file").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FileTransferError);
    expect(missing).toMatchObject({ code: "FILE_TRANSFER_FAILED", retryable: false, path: "/nonexistent/file", via: "exec" });
    expect((missing as Error).message).toContain("/nonexistent/file");

    // A parent that is a file: mkdir -p fails on the guest.
    await vm.exec("echo plain > /root/plain-file", { check: true });
    const blocked = await vm.writeFile("/root/plain-file/child", "x").catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(FileTransferError);
    expect(blocked).toMatchObject({ code: "FILE_TRANSFER_FAILED", retryable: false, path: "/root/plain-file/child" });
    expect((blocked as Error).message).toContain("/root/plain-file/child");
  });

  it("deleting the environment leaves nothing carrying its prefix", async () => {
    await env?.close();
    env = undefined;
    const prefix = readState(ws).prefix as string;
    const result = await deleteOverMcp(ws, artifact.metadata as Record<string, string>);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(await waitForNoLeaks(leakScope(ws, prefix))).toEqual([]);
  });
});
