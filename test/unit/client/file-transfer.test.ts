import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExecFileTransfer, ExecTransferUnavailableError, remotePath } from "../../../src/client/file-transfer.js";
import type { RawExecBytes, RawExecOptions } from "../../../src/client/ssh-session.js";

// The transfer over exec runs its command lines through a local POSIX sh, as a guest's login shell would.

const dir = mkdtempSync(join(tmpdir(), "testenv-exec-transfer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function localShell(env: Record<string, string> = {}, shell = "/bin/sh"): { run: (line: string, options: RawExecOptions) => Promise<RawExecBytes>; lines: string[] } {
  const lines: string[] = [];
  const run = (line: string, options: RawExecOptions): Promise<RawExecBytes> =>
    new Promise((resolve, reject) => {
      lines.push(line);
      const child = spawn(shell, ["-c", line], { cwd: dir, env: { PATH: process.env.PATH ?? "", ...env } });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      child.on("error", reject);
      child.on("close", (code) => resolve({ stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode: code }));
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.stdin);
    });
  return { run, lines };
}

const fixed = (result: Partial<RawExecBytes>): ((line: string) => Promise<RawExecBytes>) => () =>
  Promise.resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0, ...result });

describe("file transfer over exec", () => {
  it("writes and reads binary data byte for byte, creating parents and applying the mode", async () => {
    const { run } = localShell();
    const files = new ExecFileTransfer(run);
    const data = randomBytes(256 * 1024 + 7);
    await files.write("a/b c/it's.bin", data, 0o640);
    expect(readFileSync(join(dir, "a", "b c", "it's.bin")).equals(data)).toBe(true);
    expect(statSync(join(dir, "a", "b c", "it's.bin")).mode & 0o777).toBe(0o640);
    expect((await files.read("a/b c/it's.bin")).equals(data)).toBe(true);
    await files.write("empty", Buffer.alloc(0));
    expect((await files.read("empty")).length).toBe(0);
  });

  it("never lets a path that starts with a dash become an option", async () => {
    const { run, lines } = localShell();
    const files = new ExecFileTransfer(run);
    await files.write("-n", Buffer.from("dash\n"), 0o600);
    expect(readFileSync(join(dir, "-n"), "utf8")).toBe("dash\n");
    expect((await files.read("-n")).toString()).toBe("dash\n");
    expect(lines.every((line) => !/ -n\b/.test(line))).toBe(true);
  });

  // The tiny guest image is busybox + dropbear: the same command lines must work with busybox's sh and applets.
  it.runIf(existsSync("/bin/busybox"))("works with busybox's sh, cat, wc, mkdir and chmod alone", async () => {
    const applets = join(dir, "busybox-bin");
    mkdirSync(applets, { recursive: true });
    for (const applet of ["sh", "cat", "wc", "mkdir", "chmod"]) {
      if (!existsSync(join(applets, applet))) symlinkSync("/bin/busybox", join(applets, applet));
    }
    const files = new ExecFileTransfer(localShell({ PATH: applets }, join(applets, "sh")).run);
    const data = randomBytes(300_000);
    await files.write("busybox/-dir/blob.bin", data, 0o604);
    expect(readFileSync(join(dir, "busybox", "-dir", "blob.bin")).equals(data)).toBe(true);
    expect(statSync(join(dir, "busybox", "-dir", "blob.bin")).mode & 0o777).toBe(0o604);
    expect((await files.read("busybox/-dir/blob.bin")).equals(data)).toBe(true);
  });

  it("a missing file fails with the guest's message, not as a missing transport", async () => {
    const files = new ExecFileTransfer(localShell().run);
    const error = await files.read("no/such/file").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ExecTransferUnavailableError);
    expect((error as Error).message).toMatch(/no\/such\/file/);
  });

  it("a guest without cat or wc cannot carry files this way", async () => {
    const bare = join(dir, "bare-bin");
    mkdirSync(bare, { recursive: true });
    if (!existsSync(join(bare, "sh"))) symlinkSync("/bin/sh", join(bare, "sh"));
    writeFileSync(join(dir, "present"), "x");
    const files = new ExecFileTransfer(localShell({ PATH: bare }).run);
    await expect(files.read("present")).rejects.toBeInstanceOf(ExecTransferUnavailableError);
    await expect(files.write("present", Buffer.from("y"))).rejects.toBeInstanceOf(ExecTransferUnavailableError);
  });

  it("checks what arrived against the size the guest reports", async () => {
    await expect(new ExecFileTransfer(fixed({ stdout: Buffer.from("abc"), stderr: Buffer.from("4\n") })).read("f")).rejects.toThrow(
      /read 3 bytes of f, but the guest reports 4/,
    );
    await expect(new ExecFileTransfer(fixed({ stdout: Buffer.from("      2\n") })).write("f", Buffer.from("abc"))).rejects.toThrow(
      /wrote 3 bytes to f, but the guest reports 2/,
    );
    await expect(new ExecFileTransfer(fixed({ stdout: Buffer.from("abc"), stderr: Buffer.from("warning\n3\n") })).read("f")).rejects.toThrow(
      /expected the size from wc -c/,
    );
  });

  it("maps ~ to the login directory", () => {
    expect(remotePath("~")).toBe(".");
    expect(remotePath("~/x/y")).toBe("x/y");
    expect(remotePath("/abs")).toBe("/abs");
  });
});
