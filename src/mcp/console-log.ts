import { open } from "node:fs/promises";
import { isAbsolute } from "node:path";

// The tail of a VM's serial console log, as its provider writes it on the host (libvirt: <serial><log file=…>).
// Only the last MAX_TAIL_BYTES are ever read, so a guest that floods its console cannot flood the server.

const MAX_TAIL_BYTES = 1024 * 1024;
// CSI and OSC escape sequences, and the other lone escapes a boot prints (colours, cursor moves, titles).
// eslint-disable-next-line no-control-regex -- the escape characters are what is being removed
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

export interface ConsoleTail {
  lines: string[];
  /** Size of the log when read: what a later `since` starts from. */
  offset: number;
  /** Older lines exist beyond the ones returned. */
  truncated: boolean;
}

/** A provider's consoleOutput is the log's path on the host (an absolute path), or the console text itself. */
export function isConsolePath(consoleOutput: string): boolean {
  return isAbsolute(consoleOutput) && !consoleOutput.includes("\n");
}

function linesOf(text: string): string[] {
  const lines = text.replace(ESCAPES, "").replace(/\r\n?/g, "\n").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function lastLines(all: string[], count: number, cutAtStart: boolean): ConsoleTail & { offset: 0 } {
  // A read that started mid-file begins with a partial line: drop it.
  const whole = cutAtStart ? all.slice(1) : all;
  const lines = whole.slice(-count);
  return { lines, offset: 0, truncated: cutAtStart || lines.length < whole.length };
}

export async function tailConsoleFile(path: string, count: number, since: number | undefined): Promise<ConsoleTail> {
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    // A since beyond the end means the log was rotated or rewritten (a restarted VM): start over.
    const from = since !== undefined && since <= size ? since : 0;
    const start = Math.max(from, size - MAX_TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await file.read(buffer, 0, buffer.length, start);
    const tail = lastLines(linesOf(buffer.toString("utf8")), count, start > from);
    return { ...tail, offset: size };
  } finally {
    await file.close();
  }
}

export function tailConsoleText(text: string, count: number): ConsoleTail {
  return { ...lastLines(linesOf(text), count, false), offset: Buffer.byteLength(text) };
}
