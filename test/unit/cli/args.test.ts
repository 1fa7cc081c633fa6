import { describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import { UsageError, parseArgs } from "../../../src/cli/args.js";
import { EXIT, exitCodeFor } from "../../../src/cli/exit-codes.js";
import { defaultTestID } from "../../../src/cli/commands/create.js";

const ALL = ["spec", "name", "id", "json", "quiet", "help", "keep-on-failure"] as const;

describe("CLI argument parsing", () => {
  it("reads values in both forms, switches and positionals", () => {
    expect(parseArgs(["--spec", "a.yaml", "--id=x-1", "--json", "-q", "extra"], ALL, "create")).toEqual({
      flags: { spec: "a.yaml", id: "x-1", json: true, quiet: true },
      positionals: ["extra"],
    });
    expect(parseArgs(["--", "--json"], ALL, "create").positionals).toEqual(["--json"]);
  });

  it.each([
    [["--spce", "a"], /unknown option '--spce' for 'create' \(did you mean '--spec'\?\); run 'testenv-vm create --help'/],
    [["--spec"], /option '--spec' needs a value for 'create': --spec <file>/],
    [["--spec", "--json"], /option '--spec' needs a value/],
    [["--spec="], /needs a non-empty value/],
    [["--json=yes"], /option '--json' takes no value/],
    [["--json", "--json"], /given twice/],
    [["--stage", "x"], /option '--stage' does not apply for 'create'/],
    [["-x"], /unknown option '-x'/],
  ])("%j is a usage error naming the flag", (argv, message) => {
    expect(() => parseArgs(argv, ALL, "create")).toThrow(UsageError);
    expect(() => parseArgs(argv, ALL, "create")).toThrow(message);
  });
});

describe("exit codes", () => {
  it.each([
    [new UsageError("x"), EXIT.usage],
    [new TestenvError("SPEC_INVALID", "x"), EXIT.invalid],
    [new TestenvError("SPEC_NOT_FOUND", "x"), EXIT.invalid],
    [new TestenvError("STATE_CONFLICT", "x"), EXIT.invalid],
    [new TestenvError("NOT_IMPLEMENTED", "x"), EXIT.invalid],
    [new TestenvError("NOT_IMPLEMENTED", "x", { details: { failures: [] } }), EXIT.failed],
    [new TestenvError("STATE_NOT_FOUND", "x"), EXIT.notFound],
    [new TestenvError("STATE_LOCKED", "x"), EXIT.busy],
    [new TestenvError("CREATE_FAILED", "x"), EXIT.failed],
    [new TestenvError("DELETE_INCOMPLETE", "x"), EXIT.failed],
    [new Error("boom"), EXIT.failed],
  ])("%s → %i", (error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });
});

describe("default testID", () => {
  it("has Forge's shape", () => {
    expect(defaultTestID("cli", new Date("2026-03-04T10:00:00Z"))).toMatch(/^test-cli-20260304-[0-9a-f]{8}$/);
  });
});
