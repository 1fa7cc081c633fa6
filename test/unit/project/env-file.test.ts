import { describe, expect, it } from "vitest";
import { TestenvError } from "../../../src/errors.js";
import { parseEnvFile } from "../../../src/project/env-file.js";

const VALID = "INFRA_TYPE=vm\nMEMORY=1024\nCPUS=2\nDISK=10\n";

function problems(text: string): TestenvError {
  try {
    parseEnvFile(text, "/work/p/.env");
  } catch (error) {
    if (error instanceof TestenvError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe("parseEnvFile: a valid .env", () => {
  it("parses the required keys and fills the defaults", () => {
    const { env } = parseEnvFile(VALID, "/p/.env");
    expect(env).toMatchObject({ INFRA_TYPE: "vm", MEMORY: 1024, CPUS: 2, DISK: 10, NETWORK_TYPE: "default", NETWORK: "default", PORTS: [], IMAGE: "debian:12", STOP_TIMEOUT: 60 });
  });

  it("understands comments, quotes, export and blank lines as dotenv does", () => {
    const text = `# my project\n\nexport INFRA_TYPE="vm"\nMEMORY='2048' # MiB\nCPUS=4\nDISK=20\nPORTS=" 8080:80 , 127.0.0.1:2222:22/tcp,5353:53/udp "\n`;
    const { env } = parseEnvFile(text, "/p/.env");
    expect(env.MEMORY).toBe(2048);
    expect(env.PORTS).toEqual([
      { hostIP: "127.0.0.1", hostPort: 8080, guestPort: 80, protocol: "tcp" },
      { hostIP: "127.0.0.1", hostPort: 2222, guestPort: 22, protocol: "tcp" },
      { hostIP: "127.0.0.1", hostPort: 5353, guestPort: 53, protocol: "udp" },
    ]);
  });

  it("accepts a bridge, a fixed IP, a provisioning script and a pinned https image", () => {
    const text = `${VALID}NETWORK_TYPE=bridge\nBRIDGE=br1\nFIXED_IP=192.168.1.50/24\nGATEWAY=192.168.1.1\nDNS=192.168.1.1, 9.9.9.9\nPROVISION_SCRIPT=provision/setup.yml\nIMAGE=https://example.org/img.qcow2\nIMAGE_SHA256=${"a".repeat(64)}\nSSH_USER=dev\nNAME=my-box\n`;
    expect(parseEnvFile(text, "/p/.env").env).toMatchObject({ NETWORK_TYPE: "bridge", BRIDGE: "br1", FIXED_IP: "192.168.1.50/24", GATEWAY: "192.168.1.1", DNS: ["192.168.1.1", "9.9.9.9"], NAME: "my-box", SSH_USER: "dev" });
  });
});

// Each bad .env names the key (or the line) and says what to write instead.
const BAD: Array<{ name: string; text: string; field: string; says: RegExp; line?: number }> = [
  { name: "empty file", text: "", field: "INFRA_TYPE", says: /is required: add a line INFRA_TYPE=/ },
  { name: "only comments", text: "# nothing\n", field: "MEMORY", says: /is required/ },
  { name: "missing MEMORY", text: "INFRA_TYPE=vm\nCPUS=2\nDISK=10\n", field: "MEMORY", says: /is required: add a line MEMORY=/ },
  { name: "missing CPUS", text: "INFRA_TYPE=vm\nMEMORY=512\nDISK=10\n", field: "CPUS", says: /is required/ },
  { name: "missing DISK", text: "INFRA_TYPE=vm\nMEMORY=512\nCPUS=1\n", field: "DISK", says: /is required/ },
  { name: "empty MEMORY", text: "INFRA_TYPE=vm\nMEMORY=\nCPUS=1\nDISK=10\n", field: "MEMORY", says: /is required/ },
  { name: "unknown INFRA_TYPE", text: "INFRA_TYPE=vmm\nMEMORY=512\nCPUS=1\nDISK=10\n", field: "INFRA_TYPE", says: /must be vm or container \(got "vmm"\)/, line: 1 },
  { name: "negative MEMORY", text: "INFRA_TYPE=vm\nMEMORY=-512\nCPUS=1\nDISK=10\n", field: "MEMORY", says: /whole number of MiB/, line: 2 },
  { name: "non-numeric MEMORY", text: "INFRA_TYPE=vm\nMEMORY=lots\nCPUS=1\nDISK=10\n", field: "MEMORY", says: /whole number of MiB.*got "lots"/ },
  { name: "MEMORY with a unit", text: "INFRA_TYPE=vm\nMEMORY=2G\nCPUS=1\nDISK=10\n", field: "MEMORY", says: /whole number of MiB/ },
  { name: "MEMORY too small", text: "INFRA_TYPE=vm\nMEMORY=16\nCPUS=1\nDISK=10\n", field: "MEMORY", says: /at least 128 MiB/ },
  { name: "zero CPUS", text: "INFRA_TYPE=vm\nMEMORY=512\nCPUS=0\nDISK=10\n", field: "CPUS", says: /at least 1 vCPUs/ },
  { name: "fractional CPUS", text: "INFRA_TYPE=vm\nMEMORY=512\nCPUS=1.5\nDISK=10\n", field: "CPUS", says: /whole number of vCPUs/ },
  { name: "DISK too large", text: "INFRA_TYPE=vm\nMEMORY=512\nCPUS=1\nDISK=999999\n", field: "DISK", says: /at most 65536 GiB/ },
  { name: "misspelt key", text: `${VALID}PORT=8080:80\n`, field: "PORT", says: /not a testenv-vm setting; did you mean `PORTS`\?/, line: 5 },
  { name: "lower-case key", text: `${VALID}memory=512\n`, field: "memory", says: /did you mean `MEMORY`\?/ },
  { name: "unknown key", text: `${VALID}FOO=bar\n`, field: "FOO", says: /not a testenv-vm setting/ },
  { name: "line without =", text: `${VALID}MEMORY 512\n`, field: ".env", says: /line 5 is not KEY=value/, line: 5 },
  { name: "key set twice", text: `${VALID}MEMORY=2048\n`, field: "MEMORY", says: /set twice \(lines 2 and 5\)/, line: 5 },
  { name: "bad NETWORK_TYPE", text: `${VALID}NETWORK_TYPE=nat\n`, field: "NETWORK_TYPE", says: /must be default or bridge/ },
  { name: "PORTS not a mapping", text: `${VALID}PORTS=8080\n`, field: "PORTS", says: /entry 1 "8080" is not \[hostIP:\]hostPort:guestPort/ },
  { name: "PORTS out of range", text: `${VALID}PORTS=70000:80\n`, field: "PORTS", says: /ports 1-65535/ },
  { name: "PORTS bad protocol", text: `${VALID}PORTS=8080:80/sctp\n`, field: "PORTS", says: /\[\/tcp\|udp\]/ },
  { name: "PORTS bad host IP", text: `${VALID}PORTS=300.1.1.1:8080:80\n`, field: "PORTS", says: /entry 1/ },
  { name: "PORTS duplicate host port", text: `${VALID}PORTS=8080:80,8080:81\n`, field: "PORTS", says: /host port 127\.0\.0\.1:8080\/tcp is forwarded twice/ },
  { name: "FIXED_IP out of range", text: `${VALID}FIXED_IP=192.168.1.300\n`, field: "FIXED_IP", says: /IPv4 address/ },
  { name: "FIXED_IP bad prefix", text: `${VALID}NETWORK_TYPE=bridge\nFIXED_IP=192.168.1.50/33\nGATEWAY=192.168.1.1\n`, field: "FIXED_IP", says: /IPv4 address/ },
  { name: "FIXED_IP on a bridge without prefix", text: `${VALID}NETWORK_TYPE=bridge\nFIXED_IP=192.168.1.50\nGATEWAY=192.168.1.1\n`, field: "FIXED_IP", says: /needs its prefix on a bridge/ },
  { name: "FIXED_IP on a bridge without GATEWAY", text: `${VALID}NETWORK_TYPE=bridge\nFIXED_IP=192.168.1.50/24\n`, field: "FIXED_IP", says: /needs GATEWAY on a bridge/ },
  { name: "FIXED_IP with a prefix on a libvirt network", text: `${VALID}FIXED_IP=192.168.122.50/24\n`, field: "FIXED_IP", says: /takes no prefix with NETWORK_TYPE=default/ },
  { name: "GATEWAY without a bridge", text: `${VALID}FIXED_IP=192.168.122.50\nGATEWAY=192.168.122.1\n`, field: "GATEWAY", says: /only used with NETWORK_TYPE=bridge and FIXED_IP/ },
  { name: "DNS not addresses", text: `${VALID}NETWORK_TYPE=bridge\nFIXED_IP=192.168.1.50/24\nGATEWAY=192.168.1.1\nDNS=dns.example\n`, field: "DNS", says: /comma-separated IPv4/ },
  { name: "FIXED_IP a name", text: `${VALID}FIXED_IP=myhost\n`, field: "FIXED_IP", says: /IPv4 address/ },
  { name: "absolute PROVISION_SCRIPT", text: `${VALID}PROVISION_SCRIPT=/etc/passwd\n`, field: "PROVISION_SCRIPT", says: /relative to the project folder/ },
  { name: "escaping PROVISION_SCRIPT", text: `${VALID}PROVISION_SCRIPT=../other/setup.sh\n`, field: "PROVISION_SCRIPT", says: /no \.\./ },
  { name: "escaping CLOUD_CONFIG", text: `${VALID}CLOUD_CONFIG=a/../../b.yaml\n`, field: "CLOUD_CONFIG", says: /relative to the project folder/ },
  { name: "URL image without checksum", text: `${VALID}IMAGE=https://example.org/x.qcow2\n`, field: "IMAGE_SHA256", says: /required when IMAGE is a URL/ },
  { name: "plain http image", text: `${VALID}IMAGE=http://example.org/x.qcow2\nIMAGE_SHA256=${"b".repeat(64)}\n`, field: "IMAGE", says: /must be https/ },
  { name: "checksum without URL", text: `${VALID}IMAGE_SHA256=${"c".repeat(64)}\n`, field: "IMAGE_SHA256", says: /only used with an https IMAGE/ },
  { name: "short checksum", text: `${VALID}IMAGE=https://example.org/x.qcow2\nIMAGE_SHA256=abc\n`, field: "IMAGE_SHA256", says: /64 hex digits/ },
  { name: "BRIDGE without bridge mode", text: `${VALID}BRIDGE=br0\n`, field: "BRIDGE", says: /only used with NETWORK_TYPE=bridge/ },
  { name: "NETWORK with bridge mode", text: `${VALID}NETWORK_TYPE=bridge\nNETWORK=default\n`, field: "NETWORK", says: /only used with NETWORK_TYPE=default/ },
  { name: "BRIDGE name too long", text: `${VALID}NETWORK_TYPE=bridge\nBRIDGE=averyveryverylongbridge\n`, field: "BRIDGE", says: /at most 15 characters/ },
  { name: "bad NAME", text: `${VALID}NAME=My Project!\n`, field: "NAME", says: /lower-case letters, digits and dashes/ },
  { name: "bad SSH_USER", text: `${VALID}SSH_USER=Bad User\n`, field: "SSH_USER", says: /Unix user name/ },
  { name: "zero STOP_TIMEOUT", text: `${VALID}STOP_TIMEOUT=0\n`, field: "STOP_TIMEOUT", says: /at least 1 seconds/ },
];

describe("parseEnvFile: bad input", () => {
  it(`has a table of at least 30 bad .env files (${BAD.length})`, () => {
    expect(BAD.length).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD)("$name: names $field", ({ text, field, says, line }) => {
    const error = problems(text);
    expect(error.code).toBe("SPEC_INVALID");
    expect(error.message).toMatch(/\/work\/p\/\.env has \d+ problem\(s\); nothing was created/);
    const issue = error.issues.find((i) => i.field === field && says.test(i.message));
    expect(issue, JSON.stringify(error.issues, null, 2)).toBeDefined();
    if (line !== undefined) expect(issue?.line).toBe(line);
  });

  it("lists every problem at once", () => {
    const error = problems("INFRA_TYPE=vmm\nMEMORY=-5\nCPU=2\nDISK=10\nPORTS=8080:80,abc\nNOPE\n");
    expect(error.issues.map((i) => i.field).sort()).toEqual([".env", "CPU", "CPUS", "INFRA_TYPE", "MEMORY", "PORTS"]);
  });
});
