import { remotePath } from "../../client/file-transfer.js";
import { quoteShellArg } from "../../client/shell-command.js";
import { TestenvError } from "../../errors.js";
import { isText, sha256 } from "../file-content.js";
import { withHeartbeat } from "../progress.js";
import type { ToolDefinition } from "../tool.js";
import { LIMITS, ReadFileInput, ReadFileOutput, parseReadFileArgs } from "../vm-inputs.js";

export const readFileTool: ToolDefinition = {
  name: "read-file",
  title: "Read a file in a VM",
  description:
    "Read a file inside a VM (SFTP, or cat over exec on a guest without SFTP). Files above maxBytes are refused before they are read. " +
    "Text comes back as utf8; binary content (not valid UTF-8, or NUL bytes) as base64, flagged in encoding. Includes size and sha256.",
  input: ReadFileInput,
  output: ReadFileOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Read file failed",
  async handler(args, { sessions, signal, onProgress }) {
    const input = parseReadFileArgs(args);
    const { handle, log } = await sessions.vm(input.testID, input.vm);
    const maxBytes = input.maxBytes ?? LIMITS.defaultReadBytes;
    // The size first, so that a huge file is refused without moving it.
    const sized = await handle.exec(`wc -c < ${quoteShellArg(remotePath(input.path))}`, { timeoutMs: 30_000, signal });
    const size = Number(sized.stdout.trim());
    if (sized.exitCode !== 0 || !Number.isFinite(size)) {
      throw new TestenvError("NOT_FOUND", `cannot read ${input.path} on vm "${input.vm}": ${sized.stderr.trim() || `exit code ${sized.exitCode}`}`, {
        details: { vm: input.vm, path: input.path },
      });
    }
    if (size > maxBytes) {
      const message = `${input.path} is ${size} bytes, more than maxBytes ${maxBytes}; raise maxBytes (at most ${LIMITS.maxReadBytes}) or copy it to the host`;
      throw new TestenvError("INPUT_INVALID", message, { issues: [{ field: "maxBytes", message }], details: { size, maxBytes } });
    }
    const bytes = await withHeartbeat(onProgress, `read ${input.path}`, handle.readFile(input.path));
    log.info(`read ${input.path} on vm ${input.vm}: ${bytes.length} bytes`);
    const encoding = input.encoding === "base64" || (input.encoding !== "utf8" && !isText(bytes)) ? "base64" : "utf8";
    return {
      content: [{ type: "text", text: encoding === "utf8" ? bytes.toString("utf8") : `${input.path}: ${bytes.length} bytes of binary content (base64 in structuredContent)` }],
      structuredContent: { vm: input.vm, path: input.path, size: bytes.length, sha256: sha256(bytes), encoding, content: bytes.toString(encoding) },
    };
  },
};
