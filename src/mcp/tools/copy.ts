import { readFile } from "node:fs/promises";
import { sha256 } from "../file-content.js";
import { allowedHostPath } from "../host-paths.js";
import { withHeartbeat } from "../progress.js";
import type { ToolDefinition } from "../tool.js";
import { CopyInput, CopyOutput, parseCopyArgs } from "../vm-inputs.js";

export const copyTool: ToolDefinition = {
  name: "copy",
  title: "Copy a file between the host and a VM",
  description:
    "Copy one file host → VM (to-vm, keeps its mode) or VM → host (from-vm). Host paths are limited to the environment's artifact dir " +
    "(relative paths resolve there) and the directories the server was started with (--allow-host-path, TESTENV_VM_MCP_HOST_PATHS); " +
    "paths that leave them, also through symlinks, are refused. Answers the size and sha256 of what was copied.",
  input: CopyInput,
  output: CopyOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  failurePrefix: "Copy failed",
  async handler(args, { sessions, hostPaths, onProgress }) {
    const input = parseCopyArgs(args);
    const { handle, state, log } = await sessions.vm(input.testID, input.vm);
    const toVm = input.direction === "to-vm";
    const hostPath = await allowedHostPath(input.hostPath, state.artifactDir, hostPaths, toVm ? "read" : "write");
    const what = toVm ? `copy ${hostPath} to ${input.vm}:${input.vmPath}` : `copy ${input.vm}:${input.vmPath} to ${hostPath}`;
    await withHeartbeat(onProgress, what, toVm ? handle.copyTo(hostPath, input.vmPath) : handle.copyFrom(input.vmPath, hostPath));
    const bytes = await readFile(hostPath);
    log.info(`${what}: ${bytes.length} bytes`);
    return {
      content: [{ type: "text", text: `Copied ${bytes.length} bytes: ${what}` }],
      structuredContent: { vm: input.vm, direction: input.direction, hostPath, path: input.vmPath, size: bytes.length, sha256: sha256(bytes) },
    };
  },
};
