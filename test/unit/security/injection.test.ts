import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { checkResourceName } from "../../../providers/kit/names.js";
import { planNetwork } from "../../../providers/libvirt/net/plan.js";
import { userData } from "../../../providers/libvirt/vm/cloudinit.js";
import { domainXml, type DomainInput } from "../../../providers/libvirt/vm/domain-xml.js";
import { parseMetadata, type DomainMetadata } from "../../../providers/libvirt/vm/metadata.js";
import { quoteShellArgs } from "../../../src/client/shell-command.js";
import { parseSpec } from "../../../src/spec/load.js";
import { validateEarly } from "../../../src/spec/validate.js";
import { parseWithRealParser } from "../libvirt/xml-check.js";

// Issue 16, security: one test per sink a user's string can reach — libvirt XML, cloud-init YAML, the shell on the
// guest, file paths, dnsmasq options — each fed the payloads that would break out of it. Each value must arrive as
// the same text, or be refused with the field named; nothing may add an element, a document, a command or a path.

const scratch = mkdtempSync(join(tmpdir(), "testenv-vm-injection-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("injection, sink by sink", () => {
  it("XML: a value with `</name><devices>` stays text in the domain XML and comes back unchanged", () => {
    const payload = `x</name><devices><disk type="file"><source file="/etc/shadow"/></disk></devices><name>`;
    const metadata: DomainMetadata = {
      version: 1, name: "p1-vm", testID: payload, prefix: "p1", createdAt: "2026-01-01T00:00:00.000Z", accelerator: "tcg",
      vmDir: "/v", disk: "/v/disk.qcow2", seedIso: "/v/seed.iso", consoleLog: "/a/vm.console", networks: ["p1-net"], macs: ["52:54:00:01:02:03"], keys: [], sshUser: payload, staticIps: [null],
    };
    const input: DomainInput = {
      name: "p1-vm", accelerator: "tcg", memoryMiB: 256, vcpus: 1, machine: "pc", cpuModel: undefined, firmware: "bios", secureBoot: false, nvramPath: undefined, tpm: false,
      bootOrder: ["hd"], diskPath: metadata.disk, seedIsoPath: metadata.seedIso, nics: [{ type: "network", network: "p1-net", mac: "52:54:00:01:02:03" }], consoleLog: metadata.consoleLog, metadata,
    };
    const xml = domainXml(input);
    parseWithRealParser(xml);
    expect(xml).not.toContain("/etc/shadow\"/>");
    expect(xml.match(/<devices>/g)).toHaveLength(1);
    expect(parseMetadata(xml)).toMatchObject({ testID: payload, sshUser: payload });
  });

  it("YAML: a document break, a key and a list item in cloud-init values stay inside their values", () => {
    const payload = "ok\n---\nruncmd: [reboot]\n- name: root\n  ssh_authorized_keys: [evil]\n";
    const text = userData({ hostname: "vm1", users: [{ name: "u", sshAuthorizedKeys: ["ssh-ed25519 AAAA"] }], runcmd: [payload], writeFiles: [{ path: "/etc/app.conf", content: payload }] }, "vm1");
    const documents = parseAllDocuments(text);
    expect(documents).toHaveLength(1);
    const doc = documents[0]!.toJS() as { runcmd: unknown[]; write_files: { content: string }[]; users: unknown[] };
    expect(doc.runcmd).toEqual([payload]);
    expect(doc.write_files[0]?.content).toBe(payload);
    expect(doc.users).toHaveLength(1);
  });

  it("shell: `$(…)`, `; rm`, backticks, quotes and newlines reach the program as one argument each and run nothing", () => {
    const marker = join(scratch, "ran");
    const payloads = [`$(touch ${marker})`, `; touch ${marker}`, `\`touch ${marker}\``, `'; touch ${marker}; '`, `"$(touch ${marker})"`, `a\ntouch ${marker}`, "*", "$HOME", "--version"];
    const line = quoteShellArgs(["printf", "%s\\0", ...payloads]);
    const out = execFileSync("sh", ["-c", line], { encoding: "utf8" });
    expect(out.split("\0").slice(0, -1)).toEqual(payloads);
    expect(existsSync(marker)).toBe(false);
  });

  it("paths: names with `../../etc` or a slash are refused before anything is made, by the spec and by the provider kit", () => {
    for (const name of ["../../etc", "a/../../b", "..", "x/y"]) {
      const issues = validateEarly(parseSpec({ providers: [{ name: "stub", engine: "testenv-vm-provider-stub" }], keys: [{ name, spec: { type: "ed25519" } }] }));
      expect(issues.map((issue) => issue.field), name).toContain("keys[0].name");
      expect(() => checkResourceName("key", name), name).toThrow(/must be 1-128 characters/);
    }
  });

  it("dnsmasq options: a newline or an option in a DHCP domain, lease hostname or DNS record is refused, never passed on", () => {
    const base = { cidr: "192.168.100.1/24", attachTo: "br0" };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, dhcp: { domain: "lan\nserver=8.8.8.8" } }, "spec.dhcp.domain"],
      [{ ...base, dhcp: { staticLeases: [{ mac: "52:54:00:00:00:01", ip: "192.168.100.5", hostname: "h\ndhcp-script=/bin/sh" }] } }, "spec.dhcp.staticLeases[0].hostname"],
      [{ ...base, dns: { hosts: [{ hostname: "a --conf-file=/etc/passwd", ip: "192.168.100.6" }] } }, "spec.dns.hosts[0].hostname"],
      [{ ...base, dhcp: {}, dns: { domain: "x\naddress=/#/6.6.6.6" } }, "spec.dns.domain"],
    ];
    for (const [spec, field] of cases) expect(() => planNetwork("dnsmasq", spec as never), field).toThrow(field);
  });
});
