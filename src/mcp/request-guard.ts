import { Transform, type Readable } from "node:stream";

// The SDK's stdio transport drops a line it cannot read as a JSON-RPC message (no reply at all: an object id, a
// batch, params that are not an object) and answers a tools/call with the wrong shape with -32603 and a zod dump.
// This filter sits in front of it: lines it can answer better are answered here, every other line passes unchanged.

type Reply = { jsonrpc: "2.0"; id: string | number | null; error: { code: number; message: string } };

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;

const error = (id: string | number | null, code: number, message: string): Reply => ({ jsonrpc: "2.0", id, error: { code, message } });

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** What to do with one line from the client: pass it to the SDK, answer it here, or drop it (a bad notification). */
export function screenLine(line: string): { pass: true } | { reply?: Reply } {
  if (line.trim() === "") return {};
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return { reply: error(null, PARSE_ERROR, "Parse error: each line must be one JSON-RPC message") };
  }
  if (Array.isArray(message)) return { reply: error(null, INVALID_REQUEST, "Invalid Request: batches are not supported; send one message per line") };
  if (!isObject(message)) return { reply: error(null, INVALID_REQUEST, "Invalid Request: a message is a JSON object") };
  const hasId = Object.hasOwn(message, "id");
  const id = message.id;
  if (hasId && typeof id !== "string" && typeof id !== "number") {
    return { reply: error(null, INVALID_REQUEST, "Invalid Request: id must be a string or a number") };
  }
  if (typeof message.method !== "string") return { pass: true };
  const reply = (text: string): { reply?: Reply } => (hasId ? { reply: error(id as string | number, INVALID_PARAMS, `Invalid params: ${text}`) } : {});
  const params = message.params;
  if (params !== undefined && !isObject(params)) return reply("params must be an object");
  if (message.method === "tools/call") {
    if (typeof params?.name !== "string") return reply("tools/call needs params.name, the tool's name (a string)");
    if (params.arguments !== undefined && !isObject(params.arguments)) return reply("tools/call params.arguments must be an object");
  }
  return { pass: true };
}

/** `input` with the lines screenLine answers taken out; their replies go to `send` as one line each. */
export function guardedInput(input: Readable, send: (line: string) => void): Readable {
  let pending = "";
  const screen = (line: string, out: Transform): void => {
    const verdict = screenLine(line);
    if ("pass" in verdict) out.push(`${line}\n`);
    else if (verdict.reply !== undefined) send(`${JSON.stringify(verdict.reply)}\n`);
  };
  const filter = new Transform({
    transform(chunk: Buffer | string, _encoding, done) {
      // Only the new text can hold the next newline: a long line is scanned once, not once per chunk.
      const from = pending.length;
      pending += chunk.toString();
      let newline = pending.indexOf("\n", from);
      while (newline !== -1) {
        screen(pending.slice(0, newline).replace(/\r$/, ""), this);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
      done();
    },
    flush(done) {
      if (pending !== "") screen(pending, this);
      done();
    },
  });
  return input.pipe(filter);
}
