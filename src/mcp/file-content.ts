import { createHash } from "node:crypto";
import { TestenvError } from "../errors.js";

// File contents as they cross the protocol: text as it is, anything else as base64, always with a sha256 so that
// an agent can check a round trip.

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Text is what decodes as UTF-8 without loss and holds no NUL byte; anything else travels as base64. */
export function isText(bytes: Buffer): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of a `content` argument; base64 is checked, since Buffer.from would drop what is not base64 silently. */
export function decodeContent(content: string, encoding: "utf8" | "base64"): Buffer {
  if (encoding === "utf8") return Buffer.from(content, "utf8");
  const compact = content.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    const message = "not valid base64 (A-Z, a-z, 0-9, +, / and = padding, length a multiple of 4)";
    throw new TestenvError("INPUT_INVALID", `content: ${message}`, { issues: [{ field: "content", message }] });
  }
  return Buffer.from(compact, "base64");
}
