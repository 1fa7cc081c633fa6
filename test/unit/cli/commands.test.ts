import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { UsageError, parseArgs } from "../../../src/cli/args.js";
import type { CliIo } from "../../../src/cli/command.js";
import { COMMANDS, FLAG_VOCABULARY, findCommand } from "../../../src/cli/commands/index.js";
import { EXIT } from "../../../src/cli/exit-codes.js";
import { COMMON_FLAGS, flagOf, type Flag } from "../../../src/cli/flags.js";
import { main } from "../../../src/cli/main.js";

function memoryIo(): CliIo & { out(): string; err(): string } {
  const sink = (): Writable & { text: string } => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        stream.text += chunk.toString();
        done();
      },
    }) as Writable & { text: string };
    stream.text = "";
    return stream;
  };
  const stdout = sink();
  const stderr = sink();
  return {
    stdout,
    stderr: stderr as unknown as NodeJS.WriteStream,
    cwd: "/nonexistent-testenv-vm-cwd",
    env: { TESTENV_VM_LOG: "error" },
    out: () => stdout.text,
    err: () => stderr.text,
  };
}

describe("the command list", () => {
  it("names each command once, and every command takes the common flags", () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const command of COMMANDS) {
      expect(findCommand(command.name)).toBe(command);
      expect(command.usage.startsWith(`testenv-vm ${command.name}`), command.name).toBe(true);
      const flags = command.flags.map((ref) => flagOf(ref).name);
      expect(flags, command.name).toEqual(expect.arrayContaining([...COMMON_FLAGS]));
      expect(new Set(flags).size, command.name).toBe(flags.length);
    }
  });

  it("knows every flag of every command", () => {
    for (const command of COMMANDS) for (const ref of command.flags) expect(FLAG_VOCABULARY).toContain(flagOf(ref).name);
  });
});

describe("a flag defined by its command", () => {
  const force: Flag = { name: "force", value: false, description: "do it anyway" };
  const vocabulary = [...FLAG_VOCABULARY, "force"];

  it("parses like a shared one and does not apply elsewhere", () => {
    expect(parseArgs(["--force", "--id", "x"], [force, "id"], "rm", vocabulary).flags).toEqual({ force: true, id: "x" });
    expect(() => parseArgs(["--force"], ["id"], "status", vocabulary)).toThrow(/option '--force' does not apply for 'status'/);
    expect(() => parseArgs(["--forse"], [force], "rm", vocabulary)).toThrow(/did you mean '--force'/);
    expect(() => parseArgs(["--force=yes"], [force], "rm", vocabulary)).toThrow(UsageError);
  });
});

describe("main: commands throw, one catch maps the error", () => {
  it("a usage error exits 2 with the way to help", async () => {
    const io = memoryIo();
    expect(await main(["status"], io)).toBe(EXIT.usage);
    expect(io.err()).toBe("testenv-vm status: 'status' needs the environment id: testenv-vm status --id <testID> (see 'testenv-vm list') (see 'testenv-vm status --help')\n");
    expect(io.out()).toBe("");
  });

  it("a typed error exits with its code, as text or as one JSON document", async () => {
    const text = memoryIo();
    expect(await main(["validate", "--spec", "missing.yaml"], text)).toBe(EXIT.invalid);
    expect(text.err()).toMatch(/^testenv-vm validate failed: spec file \/nonexistent-testenv-vm-cwd\/missing\.yaml does not exist/);

    const json = memoryIo();
    expect(await main(["status", "--id", "x", "--spec", "missing.yaml", "--json"], json)).toBe(EXIT.invalid);
    expect(JSON.parse(json.out())).toMatchObject({ ok: false, operation: "status", error: { code: "SPEC_NOT_FOUND" } });
    expect(json.err()).toBe("");
  });

  it("an images failure names its subcommand", async () => {
    const io = memoryIo();
    expect(await main(["images", "pull", "--spec", "missing.yaml", "--json", "--cache-dir", "/nonexistent-testenv-vm-cache"], io)).toBe(EXIT.invalid);
    expect(JSON.parse(io.out())).toMatchObject({ ok: false, operation: "images pull" });
  });
});

describe("vm: a subcommand table", () => {
  it.each([
    [["vm"], /'vm' needs a subcommand: start, stop, restart/],
    [["vm", "stpo", "--id", "x", "web"], /unknown vm subcommand 'stpo' \(did you mean 'stop'\?\)/],
    [["vm", "stop", "web"], /'vm stop' needs the environment id/],
    [["vm", "stop", "--id", "x"], /'vm stop' needs the VM's name: testenv-vm vm stop --id x <vm>/],
    [["vm", "stop", "--id", "x", "web", "db"], /unexpected argument 'db' for 'vm stop'/],
    [["vm", "stop", "--id", "x", "web", "--timeout", "soon"], /option '--timeout' takes whole seconds from 1 to 3600, not 'soon'/],
    [["vm", "stop", "--id", "x", "web", "--timeout", "0"], /not '0'/],
    [["vm", "stop", "--id", "x", "web", "--timeout", "3601"], /not '3601'/],
    [["vm", "start", "--id", "x", "web", "--force"], /option '--force' does not apply for 'vm start'/],
    [["vm", "start", "--id", "x", "web", "--timeout", "5"], /option '--timeout' does not apply for 'vm start'/],
  ])("%j is a usage error", async (argv, expected) => {
    const io = memoryIo();
    expect(await main(argv, io)).toBe(EXIT.usage);
    expect(io.err()).toMatch(expected);
    expect(io.out()).toBe("");
  });

  it("help lists every subcommand", async () => {
    const io = memoryIo();
    expect(await main(["vm", "--help"], io)).toBe(EXIT.ok);
    for (const sub of ["start", "stop", "restart"]) expect(io.out()).toContain(`testenv-vm vm ${sub} --id <testID> <vm>`);
    expect(io.out()).toContain("--timeout <s>");
  });

  it("an unknown environment names the subcommand and exits 4", async () => {
    const io = memoryIo();
    expect(await main(["vm", "stop", "--id", "no-such-env", "web", "--state-dir", "/nonexistent-testenv-vm-state", "--json"], io)).toBe(EXIT.notFound);
    expect(JSON.parse(io.out())).toMatchObject({ ok: false, operation: "vm stop", error: { code: "STATE_NOT_FOUND" } });
  });
});
