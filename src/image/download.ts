import { createHash } from "node:crypto";
import { readFile, rm, stat, open } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { request } from "node:https";
import { rootCertificates } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";

import { TestenvError, errorMessage } from "../errors.js";
import type { Logger } from "../../lib/log.js";
import { hashInto } from "./hash.js";
import { writeAtomically } from "./metadata.js";

// Streams one URL into `<partial>`, hashing on the way. The partial file survives failures so a later
// attempt (this process or the next) resumes with Range, but only when the server gave a validator
// (strong ETag or Last-Modified) that it echoes through If-Range: without one, appending could splice two
// different versions of an unpinned image into a file whose digest we would then record as genuine.

const MAX_REDIRECTS = 5;

export interface DownloadOptions {
  url: string;
  /** Where bytes go until the caller has verified them; `<partial>.json` holds the resume validator. */
  partialPath: string;
  ca?: string | Buffer;
  retries: number;
  retryBaseMs: number;
  fetchTimeoutMs: number;
  log: Logger;
  signal?: AbortSignal;
  /** Bytes written so far (including a resumed prefix) and the expected total when known. */
  onBytes?: (bytes: number, total: number | undefined) => void;
}

export interface DownloadResult {
  sha256: string;
  size: number;
  /** The URL that served the bytes, after redirects. */
  finalUrl: string;
}

interface ResumeInfo {
  url: string;
  etag?: string;
  lastModified?: string;
}

class HttpStatusError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
  ) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ""} from ${url}`);
  }
}

class RetryableError extends Error {}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const attempts = options.retries + 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await attemptDownload(options);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof HttpStatusError && error.status < 500) {
        throw new TestenvError(
          "IMAGE_ERROR",
          `download of ${options.url} failed: ${error.message}; not retried (a client error will not go away). Check the URL.`,
          { cause: error, details: { url: options.url, status: error.status } },
        );
      }
      if (error instanceof TestenvError || isLocalFailure(error)) throw error;
      lastError = error;
      if (attempt < attempts) {
        const delay = options.retryBaseMs * 2 ** (attempt - 1);
        options.log.warn(`download of ${options.url} failed (attempt ${attempt}/${attempts}): ${errorMessage(error)}; retrying in ${delay} ms`);
        await sleep(delay, undefined, { signal: options.signal });
      }
    }
  }
  throw new TestenvError(
    "IMAGE_ERROR",
    `download of ${options.url} failed after ${attempts} attempts: ${errorMessage(lastError)}. ` +
      "The partial file is kept and the next attempt resumes it when the server supports ranges.",
    { cause: lastError, retryable: true, details: { url: options.url } },
  );
}

// Failures of our own disk do not go away by asking the server again.
const LOCAL_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "EISDIR", "ENOTDIR"]);
function isLocalFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && LOCAL_ERRNOS.has(code);
}

async function attemptDownload(options: DownloadOptions): Promise<DownloadResult> {
  const { partialPath, url } = options;
  const sidecar = `${partialPath}.json`;
  let offset = await resumableOffset(partialPath, sidecar, url);
  const resume = offset > 0 ? await readResumeInfo(sidecar) : undefined;

  const headers: Record<string, string> = { "user-agent": "testenv-vm", "accept-encoding": "identity" };
  if (offset > 0 && resume !== undefined) {
    headers.range = `bytes=${offset}-`;
    headers["if-range"] = resume.etag ?? resume.lastModified ?? "";
  }

  const { response, finalUrl } = await get(url, headers, options);
  try {
    const status = response.statusCode ?? 0;
    if (status === 416) {
      // Our partial is not a prefix the server recognises (or is already the whole file): start over.
      await discardPartial(partialPath, sidecar);
      throw new RetryableError(`server refused the resume range at byte ${offset}; restarting from zero`);
    }
    if (status >= 400) throw new HttpStatusError(finalUrl, status, response.statusMessage ?? "");
    if (status !== 200 && status !== 206) throw new RetryableError(`unexpected HTTP ${status} from ${finalUrl}`);

    if (status === 206 && contentRangeStart(response.headers) !== offset) {
      await discardPartial(partialPath, sidecar);
      throw new RetryableError(`server answered a range that does not start at byte ${offset}; restarting from zero`);
    }
    if (status === 200) {
      if (offset > 0) options.log.info(`server does not resume ${finalUrl} (or it changed); downloading from the start`);
      offset = 0;
      await writeResumeInfo(sidecar, url, response.headers);
    } else {
      options.log.info(`resuming ${finalUrl} at byte ${offset}`);
    }

    const hash = createHash("sha256");
    if (offset > 0) await hashInto(hash, partialPath, options.signal);
    const bodyLength = Number(response.headers["content-length"] ?? Number.NaN);
    const total = Number.isFinite(bodyLength) ? offset + bodyLength : undefined;

    let bytes = offset;
    const file = await open(partialPath, offset > 0 ? "a" : "w", 0o644);
    try {
      options.onBytes?.(bytes, total);
      for await (const chunk of response as AsyncIterable<Buffer>) {
        hash.update(chunk);
        await file.write(chunk);
        bytes += chunk.length;
        options.onBytes?.(bytes, total);
      }
      // Without Content-Length the last chunk may have been throttled away: report the end once.
      if (total === undefined) options.onBytes?.(bytes, bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    if (total !== undefined && bytes !== total) {
      throw new RetryableError(`connection closed after ${bytes} of ${total} bytes`);
    }
    return { sha256: hash.digest("hex"), size: bytes, finalUrl };
  } finally {
    response.destroy();
  }
}

/** GET with redirects (https only, at most MAX_REDIRECTS). */
async function get(
  url: string,
  headers: Record<string, string>,
  options: DownloadOptions,
): Promise<{ response: IncomingMessage; finalUrl: string }> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    if (current.protocol !== "https:") {
      throw new TestenvError("IMAGE_ERROR", `refusing to download ${url} over ${current.protocol} (${current.href}); image downloads must use https://`);
    }
    const response = await requestOnce(current, headers, options);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status < 300 || status >= 400 || status === 304 || location === undefined) return { response, finalUrl: current.href };
    response.destroy();
    if (hop >= MAX_REDIRECTS) {
      throw new TestenvError("IMAGE_ERROR", `download of ${url} failed: more than ${MAX_REDIRECTS} redirects (last to ${location})`);
    }
    current = new URL(location, current);
  }
}

function requestOnce(url: URL, headers: Record<string, string>, options: DownloadOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "GET",
      headers,
      // Extra trust, not replacement: a private CA must not stop the public ones from working.
      ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString()] }),
      signal: options.signal,
    });
    let response: IncomingMessage | undefined;
    req.setTimeout(options.fetchTimeoutMs, () => {
      const stalled = new RetryableError(`no data from ${url.href} for ${options.fetchTimeoutMs} ms`);
      // Fail the body stream with this error first, so the reader reports a stall rather than "aborted".
      response?.destroy(stalled);
      req.destroy(stalled);
    });
    req.once("response", (res) => {
      response = res;
      resolve(res);
    });
    req.once("error", reject);
    req.end();
  });
}

function contentRangeStart(headers: IncomingHttpHeaders): number | undefined {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(headers["content-range"] ?? "");
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Bytes of a partial file we may resume, or 0 (discarding it) when it cannot be trusted as a prefix. */
async function resumableOffset(partialPath: string, sidecar: string, url: string): Promise<number> {
  const size = await stat(partialPath).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return 0;
  const info = await readResumeInfo(sidecar);
  if (info?.url === url && (info.etag !== undefined || info.lastModified !== undefined)) return size;
  await discardPartial(partialPath, sidecar);
  return 0;
}

async function readResumeInfo(sidecar: string): Promise<ResumeInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(sidecar, "utf8")) as ResumeInfo;
    return typeof parsed.url === "string" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function writeResumeInfo(sidecar: string, url: string, headers: IncomingHttpHeaders): Promise<void> {
  const etag = headers.etag !== undefined && !headers.etag.startsWith("W/") ? headers.etag : undefined;
  const info: ResumeInfo = { url, ...(etag ? { etag } : {}), ...(headers["last-modified"] ? { lastModified: headers["last-modified"] } : {}) };
  await writeAtomically(sidecar, JSON.stringify(info));
}

export async function discardPartial(partialPath: string, sidecar = `${partialPath}.json`): Promise<void> {
  await rm(partialPath, { force: true });
  await rm(sidecar, { force: true });
}
