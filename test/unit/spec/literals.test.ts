import { describe, expect, it } from "vitest";
import { imageSourceKind } from "../../../src/spec/images.js";
import { cidrContains, nameProblem, parseCidr, parseDurationMs, parseIPv4 } from "../../../src/spec/literals.js";
import { closestMatch } from "../../../src/spec/suggest.js";

describe("literal checks", () => {
  it("parses Go-style durations", () => {
    expect(parseDurationMs("90s")).toBe(90_000);
    expect(parseDurationMs("1m30s")).toBe(90_000);
    expect(parseDurationMs("1h")).toBe(3_600_000);
    expect(parseDurationMs("1.5h")).toBe(5_400_000);
    expect(parseDurationMs("500ms")).toBe(500);
    for (const bad of ["", "90", "3 m", "m", "1d", "-1s"]) expect(parseDurationMs(bad), bad).toBeUndefined();
  });

  it("parses IPv4 addresses strictly", () => {
    expect(parseIPv4("192.168.100.1")).toBe(0xc0a86401);
    for (const bad of ["256.1.1.1", "1.1.1", "01.1.1.1", "1.1.1.1.1", "a.b.c.d", " 1.1.1.1"]) expect(parseIPv4(bad), bad).toBeUndefined();
  });

  it("parses CIDRs and tests membership", () => {
    const cidr = parseCidr("192.168.100.1/24");
    expect(cidr).toMatchObject({ prefix: 24, network: 0xc0a86400 });
    expect(cidrContains(cidr!, parseIPv4("192.168.100.255")!)).toBe(true);
    expect(cidrContains(cidr!, parseIPv4("192.168.101.0")!)).toBe(false);
    expect(parseCidr("0.0.0.0/0")).toMatchObject({ prefix: 0, network: 0 });
    for (const bad of ["192.168.100.1", "192.168.100.1/33", "192.168.100.1/", "x/24", "1.1.1.1/24/1"]) expect(parseCidr(bad), bad).toBeUndefined();
  });

  it("restricts names to what libvirt, interface names and paths accept", () => {
    expect(nameProblem("vm-ssh.v2_a")).toBeUndefined();
    for (const bad of ["", " ", "-x", ".x", "a b", "a/b", "a..b", "é", "x".repeat(49)]) expect(nameProblem(bad), bad).toMatch(/allowed|empty/);
  });

  it("classifies image sources", () => {
    expect(imageSourceKind("ubuntu:24.04")).toBe("well-known");
    expect(imageSourceKind("HTTPS://example.com/a.img")).toBe("https");
    expect(imageSourceKind("file:///a.img")).toBe("file");
    expect(imageSourceKind("images/a.qcow2")).toBe("file");
    expect(imageSourceKind("C:x")).toBeUndefined();
    expect(imageSourceKind("http://example.com/a.img")).toBeUndefined();
  });

  it("suggests close matches only", () => {
    expect(closestMatch("memroy", ["memory", "vcpus"])).toBe("memory");
    expect(closestMatch("MEMORY", ["memory"])).toBe("memory");
    expect(closestMatch("zzzz", ["memory", "vcpus"])).toBeUndefined();
  });
});
