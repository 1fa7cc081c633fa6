import { describe, expect, it } from "vitest";

import { TestenvError } from "../../../src/errors.js";
import { WELL_KNOWN_IMAGES, hostArch, resolveWellKnown } from "../../../src/image/registry.js";

describe("well-known images", () => {
  it("resolves the official cloud image URLs per architecture", () => {
    expect(resolveWellKnown("ubuntu:24.04", "amd64")).toBe(
      "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img",
    );
    expect(resolveWellKnown("ubuntu:22.04", "arm64")).toBe(
      "https://cloud-images.ubuntu.com/releases/22.04/release/ubuntu-22.04-server-cloudimg-arm64.img",
    );
    expect(resolveWellKnown("debian:12", "amd64")).toBe("https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2");
    expect(resolveWellKnown("debian:13", "arm64")).toBe("https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-arm64.qcow2");
  });

  it("uses the host architecture by default", () => {
    expect(["amd64", "arm64"]).toContain(hostArch());
    expect(resolveWellKnown("debian:12")).toContain(`-${hostArch()}.qcow2`);
  });

  it("every entry has an https URL for amd64 and arm64", () => {
    for (const image of Object.values(WELL_KNOWN_IMAGES)) {
      expect(image.urls.amd64).toMatch(/^https:\/\//);
      expect(image.urls.arm64).toMatch(/^https:\/\//);
    }
  });

  it("an unknown reference lists the known ones", () => {
    expect(() => resolveWellKnown("fedora:40")).toThrowError(TestenvError);
    expect(() => resolveWellKnown("fedora:40")).toThrowError(/known images: ubuntu:24.04, ubuntu:22.04, debian:12, debian:13/);
    expect(() => resolveWellKnown("toString")).toThrowError(/unknown well-known image/);
  });

  it("a missing architecture says which exist", () => {
    expect(() => resolveWellKnown("debian:12", "riscv64")).toThrowError(/has no riscv64 build \(available: amd64, arm64\)/);
  });
});
