import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../lib/run.js";

// A real HTTPS server on loopback with a throwaway self-signed certificate: the image cache is tested through
// TLS, redirects, ranges and dropped connections exactly as it meets them on the internet. No vitest here
// (the per-file hooks are in https-suite.ts), so anything may serve images with it.

/** What the server does for one request; requests beyond the plan are served normally. */
export type Step = "ok" | { status: number } | { cutAfter: number } | { stallAfter: number } | { redirect: string };

export interface Route {
  body: Buffer;
  /** Steps consumed one per request, in order. */
  plan?: Step[];
  /** Honour Range/If-Range; default true. */
  ranges?: boolean;
  /** Send a strong ETag; default true. */
  etag?: boolean;
  /** Pause between 64 KiB chunks, so concurrent clients overlap. */
  chunkDelayMs?: number;
}

export interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface TestServer {
  origin: string;
  ca: string;
  hits: Hit[];
  route(path: string, route: Route): void;
  hitsFor(path: string): Hit[];
  close(): Promise<void>;
}

export async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), "testenv-cert-"));
  try {
    await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]);
    return { key: await readFile(join(dir, "key.pem"), "utf8"), cert: await readFile(join(dir, "cert.pem"), "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function startServer(credentials?: { key: string; cert: string }): Promise<TestServer> {
  const { key, cert } = credentials ?? (await selfSignedCert());
  const routes = new Map<string, Route>();
  const hits: Hit[] = [];
  const server: Server = createServer({ key, cert }, (req, res) => {
    const path = new URL(req.url ?? "/", "https://x").pathname;
    const route = routes.get(path);
    const step = route?.plan?.shift() ?? "ok";
    const status = route === undefined ? 404 : typeof step === "object" && "status" in step ? step.status : typeof step === "object" && "redirect" in step ? 302 : 200;
    hits.push({ path, headers: req.headers, status });
    if (route === undefined) return void res.writeHead(404).end("no such route");
    if (typeof step === "object" && "status" in step) return void res.writeHead(step.status).end(`planned ${step.status}`);
    if (typeof step === "object" && "redirect" in step) return void res.writeHead(302, { location: step.redirect }).end();
    serveBody(req, res, route, typeof step === "object" ? step : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    ca: cert,
    hits,
    route: (path, route) => routes.set(path, route),
    hitsFor: (path) => hits.filter((hit) => hit.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveBody(req: IncomingMessage, res: ServerResponse, route: Route, fault: { cutAfter: number } | { stallAfter: number } | undefined): void {
  const etag = `"${route.body.length}-v1"`;
  const headers: Record<string, string | number> = { "content-type": "application/octet-stream", "last-modified": new Date(0).toUTCString() };
  if (route.etag !== false) headers.etag = etag;
  if (route.ranges !== false) headers["accept-ranges"] = "bytes";

  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const ifRange = req.headers["if-range"];
  const validatorOk = ifRange === undefined || ifRange === etag || ifRange === headers["last-modified"];
  if (route.ranges !== false && range?.[1] !== undefined && validatorOk) {
    start = Number(range[1]);
    if (start >= route.body.length) return void res.writeHead(416, { "content-range": `bytes */${route.body.length}` }).end();
    headers["content-range"] = `bytes ${start}-${route.body.length - 1}/${route.body.length}`;
  }
  const body = route.body.subarray(start);
  headers["content-length"] = body.length;
  res.writeHead(start > 0 ? 206 : 200, headers);
  void writeChunks(res, body, route.chunkDelayMs ?? 0, fault);
}

async function writeChunks(res: ServerResponse, body: Buffer, delayMs: number, fault: { cutAfter: number } | { stallAfter: number } | undefined): Promise<void> {
  const cutAfter = fault && "cutAfter" in fault ? fault.cutAfter : undefined;
  const stallAfter = fault && "stallAfter" in fault ? fault.stallAfter : undefined;
  const limit = cutAfter ?? stallAfter ?? body.length;
  for (let offset = 0; offset < limit; offset += 64 * 1024) {
    const chunk = body.subarray(offset, Math.min(offset + 64 * 1024, limit));
    if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  if (cutAfter !== undefined) {
    // Let the bytes reach the client, then drop the connection mid-body.
    await new Promise((resolve) => setTimeout(resolve, 50));
    res.socket?.destroy();
    return;
  }
  // A stalled transfer: the connection stays open and silent until the client gives up.
  if (stallAfter !== undefined) return;
  res.end();
}
