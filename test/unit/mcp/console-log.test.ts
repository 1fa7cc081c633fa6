import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isConsolePath, tailConsoleFile, tailConsoleText } from "../../../src/mcp/console-log.js";

const dir = mkdtempSync(join(tmpdir(), "testenv-console-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("console tails", () => {
  it("return the last lines without escape sequences, and follow the log from an offset", async () => {
    const path = join(dir, "a.log");
    writeFileSync(path, "\u001b[2J\u001b[1;1Hboot 1\r\nboot 2\r\n\u001b[32mOK\u001b[0m ready\r\n");
    const tail = await tailConsoleFile(path, 2, undefined);
    expect(tail).toMatchObject({ lines: ["boot 2", "OK ready"], truncated: true });
    expect((await tailConsoleFile(path, 10, undefined)).lines).toEqual(["boot 1", "boot 2", "OK ready"]);
    appendFileSync(path, "login: ");
    expect((await tailConsoleFile(path, 10, tail.offset)).lines).toEqual(["login: "]);
    // An offset past the end: the log was rewritten (a restarted VM), so it is read from the start.
    writeFileSync(path, "new boot\n");
    expect((await tailConsoleFile(path, 10, tail.offset)).lines).toEqual(["new boot"]);
  });

  it("read only the end of a huge log", async () => {
    const path = join(dir, "big.log");
    writeFileSync(path, `${"x".repeat(100)}\n`.repeat(30_000) + "last\n");
    const tail = await tailConsoleFile(path, 100_000, undefined);
    expect(tail.lines.at(-1)).toBe("last");
    expect(tail.lines.length).toBeLessThan(11_000);
    expect(tail.truncated).toBe(true);
  });

  it("take a provider's consoleOutput as a path or as the console text itself", () => {
    expect(isConsolePath("/var/log/libvirt/qemu/vm.log")).toBe(true);
    expect(isConsolePath("booting...\nlogin:")).toBe(false);
    expect(tailConsoleText("a\nb\nc\n", 2)).toMatchObject({ lines: ["b", "c"], truncated: true, offset: 6 });
  });
});
