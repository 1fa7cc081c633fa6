import { decodeContent, sha256 } from "../file-content.js";
import { withHeartbeat } from "../progress.js";
import type { ToolDefinition } from "../tool.js";
import { FileOutput, WriteFileInput, parseWriteFileArgs } from "../vm-inputs.js";

const modeOf = (mode: string | number | undefined): number | undefined => (typeof mode === "string" ? Number.parseInt(mode, 8) : mode);

export const writeFileTool: ToolDefinition = {
  name: "write-file",
  title: "Write a file in a VM",
  description:
    "Write (replace) a file inside a VM, creating its parent directories, with an optional mode (\"0755\"). " +
    "content is utf8 text, or base64 with encoding: base64 for binary data. Answers the size and sha256 written.",
  input: WriteFileInput,
  output: FileOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Write file failed",
  async handler(args, { sessions, onProgress }) {
    const input = parseWriteFileArgs(args);
    const { handle, log } = await sessions.vm(input.testID, input.vm);
    const bytes = decodeContent(input.content, input.encoding ?? "utf8");
    const mode = modeOf(input.mode);
    await withHeartbeat(onProgress, `write ${input.path}`, handle.writeFile(input.path, bytes, mode === undefined ? {} : { mode }));
    log.info(`wrote ${input.path} on vm ${input.vm}: ${bytes.length} bytes`);
    return {
      content: [{ type: "text", text: `Wrote ${bytes.length} bytes to ${input.path} on ${input.vm}${mode === undefined ? "" : ` (mode ${mode.toString(8).padStart(4, "0")})`}` }],
      structuredContent: { vm: input.vm, path: input.path, size: bytes.length, sha256: sha256(bytes) },
    };
  },
};
