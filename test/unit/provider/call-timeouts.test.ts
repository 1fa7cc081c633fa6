import { describe, expect, it } from "vitest";
import { defaultCallTimeoutMs } from "../../../src/provider/client.js";

describe("provider client call timeouts for the power tools", () => {
  it("gives vm_start the create timeout and vm_stop its own timeout plus the usual allowance", () => {
    const usual = defaultCallTimeoutMs("vm_get");
    expect(defaultCallTimeoutMs("vm_start")).toBe(defaultCallTimeoutMs("vm_create"));
    expect(defaultCallTimeoutMs("vm_stop")).toBe(60_000 + usual);
    expect(defaultCallTimeoutMs("vm_stop", { name: "v", timeoutSeconds: 600 })).toBe(600_000 + usual);
    // Refused by the provider at once: no shutdown time needed.
    expect(defaultCallTimeoutMs("vm_stop", { name: "v", timeoutSeconds: "soon" })).toBe(usual);
  });
});
