// The time of a `create` whose base image must be downloaded, against a second `create` that reuses the cached
// image. The image (256 MiB by default) is served over HTTPS on loopback by a child process, with a self-signed
// certificate that the CLI processes trust through NODE_EXTRA_CA_CERTS; the stub provider stands in for libvirt so
// only the image step differs. Run: `npm run build && node dist/bench/image-reuse.js [MiB]`.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const mib = Number(process.argv[2] ?? 256);
const root = mkdtempSync(join(tmpdir(), "tvm-bench-image-"));
const cli = fileURLToPath(new URL("../src/bin.js", import.meta.url));
const key = join(root, "key.pem");
const cert = join(root, "cert.pem");
execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });

// Deterministic content, so the expected sha256 is known without a second copy.
const body = Buffer.alloc(mib * 1048576);
for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
const sha256 = createHash("sha256").update(body).digest("hex");

const serverScript = join(root, "server.mjs");
writeFileSync(
  serverScript,
  `import { createServer } from "node:https"; import { readFileSync } from "node:fs";
const body = Buffer.alloc(${body.length}); for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
const server = createServer({ key: readFileSync(${JSON.stringify(key)}), cert: readFileSync(${JSON.stringify(cert)}) }, (_q, r) => { r.writeHead(200, { "content-length": String(body.length) }); r.end(body); });
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));`,
);
const server = spawn(process.execPath, [serverScript], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((resolve) => server.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));

writeFileSync(
  join(root, "spec.yaml"),
  `providers: [{name: stub, engine: testenv-vm-provider-stub}]
images:
  - name: base
    spec: {source: "https://127.0.0.1:${port}/base.qcow2", sha256: "${sha256}"}
networks:
  - {name: net, kind: bridge, spec: {cidr: 192.168.100.1/24}}
vms:
  - name: vm
    spec: {memory: 256, vcpus: 1, network: net, disk: {baseImage: base, size: 1G}}
`,
);
const env = { ...process.env, NODE_EXTRA_CA_CERTS: cert, TESTENV_VM_IMAGE_CACHE_DIR: join(root, "cache"), TESTENV_VM_STATE_DIR: join(root, "state"), TESTENV_VM_LOG: "error" };

function timed(args: string[]): number {
  const started = performance.now();
  execFileSync(process.execPath, [cli, ...args, "--quiet"], { cwd: root, env, stdio: ["ignore", "ignore", "inherit"] });
  return performance.now() - started;
}
try {
  const createArgs = (id: string): string[] => ["create", "--spec", join(root, "spec.yaml"), "--id", id, "--tmp-dir", join(root, "tmp")];
  const first = timed(createArgs("first"));
  const second = timed(createArgs("second"));
  for (const id of ["first", "second"]) timed(["delete", "--id", id]);
  process.stdout.write(`image ${mib} MiB over loopback HTTPS: first create (download + verify) ${first.toFixed(0)} ms, second create (cache hit) ${second.toFixed(0)} ms, ratio ${(first / second).toFixed(1)}x\n`);
} finally {
  server.kill();
  rmSync(root, { recursive: true, force: true });
}
