import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/log.js";
import { HOLD_ENV, holdFromEnv } from "../../../providers/libvirt/fault-hold.js";

// The fault matrix's hold points: the named point holds until its marker goes, once per dir; others never hold.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "libvirt-hold-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("libvirt fault hold", () => {
  it("holds at its point until the marker is removed, and only the first time", async () => {
    const hold = holdFromEnv(createLogger("test"), { [HOLD_ENV.point]: "vm-defined", [HOLD_ENV.dir]: dir });
    await hold("vm-create"); // another point: goes on at once
    let released = false;
    const held = hold("vm-defined").then(() => (released = true));
    const marker = join(dir, "vm-defined", "holding");
    while (!existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(readFileSync(marker, "utf8").trim()).toBe(String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(released).toBe(false);
    rmSync(marker);
    await held;
    await hold("vm-defined"); // a restarted provider goes on
    expect(existsSync(marker)).toBe(false);
  });

  it("holds nowhere without both variables", async () => {
    await holdFromEnv(createLogger("test"), { [HOLD_ENV.point]: "vm-defined" })("vm-defined");
    expect(existsSync(join(dir, "vm-defined"))).toBe(false);
  });
});
