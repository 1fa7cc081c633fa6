import { describe, expect, it } from "vitest";
import { parseCreateArgs, parseDeleteArgs, parseStatusArgs, parseVMStartArgs, parseVMStopArgs } from "../../../src/mcp/inputs.js";
import { describeFailure } from "../../../src/mcp/results.js";
import { normalizeArtifact } from "../../../src/orchestrator/summary.js";
import { TestenvError } from "../../../src/errors.js";

const base = { testID: "test-e2e-1", stage: "e2e", tmpDir: "/tmp/x", spec: { providers: [] } };

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return "(no error)";
}

describe("MCP tool arguments", () => {
  it("reports the first missing required field in a fixed order, as the original did", () => {
    expect(message(() => parseCreateArgs({}))).toBe("missing required field 'testID'");
    expect(message(() => parseCreateArgs({ testID: "a", tmpDir: "" }))).toBe("missing required field 'stage'");
    expect(message(() => parseCreateArgs({ testID: "a", stage: "s" }))).toBe("missing required field 'tmpDir'");
    expect(message(() => parseDeleteArgs({ metadata: null }))).toBe("missing required field 'testID'");
  });

  it("accepts what Forge sends, including metadata: null", () => {
    expect(parseCreateArgs({ ...base, metadata: {}, env: { A: "1" }, rootDir: "/r", envPropagation: { disabled: false } })).toMatchObject(base);
    expect(parseDeleteArgs({ testID: "test-e2e-1", metadata: null })).toEqual({ testID: "test-e2e-1", metadata: null });
  });

  it.each([
    [{ ...base, testID: 5 }, "testID"],
    [{ ...base, metadata: "x" }, "metadata"],
    [{ ...base, metadata: { a: 1 } }, "metadata.a"],
    [{ ...base, env: [] }, "env"],
    [{ ...base, keepOnFailure: "yes" }, "keepOnFailure"],
    [{ ...base, extra: 1 }, "extra: unknown field"],
    [{ ...base, testID: "../x" }, "testID: \"../x\" is not a safe id"],
    ["a string", "(arguments): expected an object"],
  ])("refuses %j naming the field", (args, fragment) => {
    expect(message(() => parseCreateArgs(args))).toContain(fragment);
  });

  it("status needs a testID", () => {
    expect(message(() => parseStatusArgs({}))).toBe("missing required field 'testID'");
  });
});

describe("vm-start and vm-stop arguments", () => {
  it("need testID, then vm", () => {
    expect(message(() => parseVMStopArgs({}))).toBe("missing required field 'testID'");
    expect(message(() => parseVMStopArgs({ testID: "t" }))).toBe("missing required field 'vm'");
    expect(message(() => parseVMStartArgs({ testID: "t", vm: "" }))).toBe("missing required field 'vm'");
  });

  it("accept the optional fields", () => {
    expect(parseVMStopArgs({ testID: "t", vm: "web", timeoutSeconds: 5, force: true, stateDir: "/s" })).toEqual({ testID: "t", vm: "web", timeoutSeconds: 5, force: true, stateDir: "/s" });
    expect(parseVMStartArgs({ testID: "t", vm: "web", waitReady: false })).toEqual({ testID: "t", vm: "web", waitReady: false });
  });

  it.each([
    [{ testID: "t", vm: "web", timeoutSeconds: 0 }, "timeoutSeconds: "],
    [{ testID: "t", vm: "web", timeoutSeconds: 1.5 }, "timeoutSeconds: "],
    [{ testID: "t", vm: "web", timeoutSeconds: "60" }, "timeoutSeconds: "],
    [{ testID: "t", vm: "web", timeoutSeconds: 3601 }, "timeoutSeconds: "],
    [{ testID: "t", vm: "web", force: "yes" }, "force: "],
    [{ testID: "t", vm: 3 }, "vm: "],
    [{ testID: "../x", vm: "web" }, "testID: \"../x\" is not a safe id"],
    [{ testID: "t", vm: "web", waitReady: false }, "waitReady: unknown field"],
  ])("vm-stop refuses %j naming the field", (args, fragment) => {
    expect(message(() => parseVMStopArgs(args))).toContain(fragment);
  });
});

describe("results", () => {
  it("normalizes the artifact to five keys with empty maps and list", () => {
    const artifact = normalizeArtifact({ testID: "t" } as never);
    expect(artifact).toEqual({ testID: "t", files: {}, metadata: {}, managedResources: [], env: {} });
  });

  it("appends only the issues the message does not already name", () => {
    const error = new TestenvError("SPEC_INVALID", "spec is invalid: vms[0].spec.memory: too small", {
      issues: [
        { field: "vms[0].spec.memory", message: "too small" },
        { field: "keys[0].name", message: "bad", line: 3, col: 5 },
      ],
    });
    expect(describeFailure(error)).toBe("spec is invalid: vms[0].spec.memory: too small\nkeys[0].name (line 3:5): bad");
  });
});
