// Example for docs/client.md: a test file using the environment of the globalSetup (type-checked in CI).
// Your code imports from "testenv-vm/vitest".
import { describe, expect, inject, it } from "vitest";
import { useTestEnv } from "../../src/vitest/index.js";

// Opens the environment; SSH connections are closed after this file's tests.
const env = await useTestEnv();

describe("web server", () => {
  it("serves the home page", async () => {
    const web = env.vm("web");
    const result = await web.exec(["curl", "-fsS", "http://localhost/"], { check: true });
    expect(result.stdout).toContain("Welcome");
  });

  it("knows which environment it runs in", () => {
    expect(inject("testenvVm").testID).toBe(env.testID);
  });
});
