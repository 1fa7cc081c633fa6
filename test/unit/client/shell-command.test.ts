import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildRemoteCommand, quoteShellArg, quoteShellArgs, validateEnvNames } from "../../../src/client/shell-command.js";
import { TestenvError } from "../../../src/errors.js";

// Every quoted line is run by real shells here: the arguments a program receives must be exactly the ones given.

const TRICKY = [
  "plain",
  "",
  " ",
  "two words",
  "it's",
  "'",
  "''",
  '"double"',
  "$HOME",
  "${PATH}",
  "$(id)",
  "`id`",
  "back\\slash",
  "\\",
  "semi;colon",
  "a && b || c",
  "pipe|amp&",
  "redirect > /tmp/x < /etc/passwd",
  "glob * ? [a-z]",
  "~",
  "~root/x",
  "#comment",
  "new\nline",
  "tab\there",
  "trailing newline\n",
  "carriage\rreturn",
  "unicode: héllo wörld ✓ 日本語 🚀",
  "-n",
  "--flag=value",
  "!bang",
  "{a,b}",
  "%s %d",
  "=",
  "a=b",
  "'$(echo pwned)'",
  "\"'\"'\"",
];

const shells = ["sh", "bash", "dash", "busybox"].filter((shell) =>
  ["/bin", "/usr/bin"].some((dir) => existsSync(join(dir, shell))),
);

/** Runs `line` through a real shell and returns the argv that printf received. */
function argvThroughShell(shell: string, line: string): string[] {
  const argv = shell === "busybox" ? ["sh", "-c", `printf '%s\\0' ${line}`] : ["-c", `printf '%s\\0' ${line}`];
  const out = execFileSync(shell === "busybox" ? "busybox" : shell, argv, { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("quoteShellArg", () => {
  it.each(shells)("round-trips every tricky argument through %s, one at a time and all together", (shell) => {
    for (const arg of TRICKY) expect(argvThroughShell(shell, quoteShellArg(arg))).toEqual([arg]);
    expect(argvThroughShell(shell, quoteShellArgs(TRICKY))).toEqual(TRICKY);
  });

  it("leaves safe words bare and single-quotes the rest", () => {
    expect(quoteShellArg("/usr/bin/env")).toBe("/usr/bin/env");
    expect(quoteShellArg("a b")).toBe("'a b'");
    expect(quoteShellArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteShellArg("")).toBe("''");
  });

  it("refuses a NUL byte and an empty argv", () => {
    expect(() => quoteShellArg("a\0b")).toThrow(/NUL byte/);
    expect(() => quoteShellArgs([])).toThrow(/empty array/);
  });
});

describe("validateEnvNames", () => {
  it.each(["A", "_x", "PATH", "a1_B2"])("accepts %s", (name) => {
    expect(() => validateEnvNames({ [name]: "v" })).not.toThrow();
  });
  it.each(["", "1A", "A-B", "A B", "A=B", "$A", "A;rm", "é"])("rejects %j with INPUT_INVALID naming it", (name) => {
    try {
      validateEnvNames({ [name]: "v" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TestenvError);
      expect((error as TestenvError).code).toBe("INPUT_INVALID");
      expect((error as TestenvError).message).toContain(JSON.stringify(name));
    }
  });
});

describe("buildRemoteCommand", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "testenv-quote-")));
  // A stand-in sudo that records its argv and runs the rest, like `sudo -n` with a NOPASSWD rule.
  const fakeSudo = join(dir, "sudo");
  writeFileSync(fakeSudo, `#!/bin/sh\n[ "$1" = "-n" ] || { echo "sudo without -n" >&2; exit 99; }\nshift\nexec env SUDO_RAN=yes "$@"\n`);
  chmodSync(fakeSudo, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (line: string): string => execFileSync("sh", ["-c", line], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { PATH: `${dir}:${process.env.PATH}` } });

  it("sends a string command unchanged when there is nothing to add", () => {
    expect(buildRemoteCommand("echo $HOME | wc -c")).toBe("echo $HOME | wc -c");
  });

  it("applies env to the whole command line, with values passed verbatim", () => {
    const line = buildRemoteCommand('printf "%s|%s" "$A" "$B"; printf "|%s" "$A"', { env: { A: "x y $(id) 'q'", B: "new\nline" } });
    expect(run(line)).toBe("x y $(id) 'q'|new\nline|x y $(id) 'q'");
  });

  it("runs under sudo -n with env passed through env(1), not as sudo NAME=value", () => {
    const line = buildRemoteCommand(["sh", "-c", 'echo "$SUDO_RAN $GREETING"'], { sudo: true, env: { GREETING: "hi there" } });
    expect(line.startsWith("sudo -n env GREETING=")).toBe(true);
    expect(run(line)).toBe("yes hi there\n");
  });

  it("changes directory first and fails the command when the directory is missing", () => {
    expect(run(buildRemoteCommand(["pwd"], { cwd: dir }))).toBe(`${dir}\n`);
    expect(() => run(buildRemoteCommand(["pwd"], { cwd: join(dir, "missing dir") }))).toThrow();
  });

  it("rejects bad env names and empty commands before anything is sent", () => {
    expect(() => buildRemoteCommand("true", { env: { "A-B": "1" } })).toThrow(/A-B/);
    expect(() => buildRemoteCommand("  ")).toThrow(/empty string/);
  });
});
