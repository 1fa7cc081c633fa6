import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../../lib/log.js";

const TAIL_BYTES = 4096;

/** Keeps a provider's stderr: all of it in its log file, the last 4 KiB in memory for error messages. */
export class StderrSink {
  private tailBuffer = Buffer.alloc(0);
  private readonly file: WriteStream | undefined;
  private readonly log: Logger | undefined;
  private pendingLine = "";

  constructor(options: { logFile?: string; log?: Logger }) {
    this.log = options.log;
    if (options.logFile !== undefined) {
      try {
        // Explicit, so a umask of 000 does not leave the log dir world-writable.
        mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
        this.file = createWriteStream(options.logFile, { flags: "a", mode: 0o600 });
        this.file.on("error", (error) => this.log?.warn(`cannot write provider log ${options.logFile}: ${error.message}`));
      } catch (error) {
        this.log?.warn(`cannot open provider log ${options.logFile}: ${(error as Error).message}`);
      }
    }
  }

  write(chunk: Buffer): void {
    this.tailBuffer = Buffer.concat([this.tailBuffer, chunk]);
    if (this.tailBuffer.length > TAIL_BYTES) this.tailBuffer = this.tailBuffer.subarray(this.tailBuffer.length - TAIL_BYTES);
    if (this.file !== undefined) {
      this.file.write(chunk);
    } else if (this.log !== undefined) {
      // Without a log file, provider lines reach our own stderr at debug level.
      const lines = (this.pendingLine + chunk.toString("utf8")).split("\n");
      this.pendingLine = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") this.log.debug(line);
    }
  }

  /** The last bytes the provider wrote to stderr, trimmed, starting at a line boundary when possible. */
  tail(): string {
    const text = this.tailBuffer.toString("utf8");
    const cut = this.tailBuffer.length >= TAIL_BYTES ? text.indexOf("\n") + 1 : 0;
    return text.slice(cut).trim();
  }

  close(): Promise<void> {
    const file = this.file;
    if (file === undefined || file.closed || file.destroyed) return Promise.resolve();
    return new Promise((resolve) => file.end(resolve));
  }
}
