import { ExecTimeoutError } from "../../client/errors.js";
import type { ExecResult } from "../../client/vm-handle.js";
import { isTestenvError } from "../../errors.js";
import { withHeartbeat } from "../progress.js";
import { killableCommand } from "../remote-kill.js";
import type { ToolDefinition } from "../tool.js";
import { ExecInput, ExecOutput, LIMITS, parseExecArgs } from "../vm-inputs.js";

type ExecAnswer = Omit<ExecResult, "truncated"> & { truncated: { stdout: boolean; stderr: boolean }; timedOut: boolean };

function summary(vm: string, answer: ExecAnswer, durationMs: number): string {
  const how = answer.timedOut ? "timed out and was killed" : answer.signal !== undefined ? `was killed by signal ${answer.signal}` : `exited ${answer.exitCode}`;
  const cut = answer.truncated.stdout || answer.truncated.stderr ? " (output truncated)" : "";
  return `Command on ${vm} ${how} after ${durationMs} ms${cut}`;
}

/** The end of a stream, for clients that read only text (structuredContent has all of it). */
function tail(label: string, output: string): { type: "text"; text: string }[] {
  if (output === "") return [];
  const shown = output.length <= TEXT_TAIL ? output : `…${output.slice(-TEXT_TAIL)}`;
  return [{ type: "text", text: `${label}:\n${shown}` }];
}

const TEXT_TAIL = 4000;

export const execTool: ToolDefinition = {
  name: "exec",
  title: "Run a command in a VM",
  description:
    "Run a command in a VM of an environment over its kept SSH connection: a shell string, or argv (each element one argument). " +
    "Returns stdout and stderr separately, the exit code (or signal), timedOut and the duration; output beyond maxOutputBytes is cut " +
    "and flagged in truncated. A timeout or a cancelled request kills the command. Several calls run at once. A non-zero exit is a " +
    "normal result, not an error.",
  input: ExecInput,
  output: ExecOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  failurePrefix: "Exec failed",
  async handler(args, { sessions, signal, onProgress }) {
    const input = parseExecArgs(args);
    const { handle, log } = await sessions.vm(input.testID, input.vm);
    const timeoutMs = Math.round((input.timeoutSeconds ?? LIMITS.defaultExecSeconds) * 1000);
    const started = Date.now();
    const command = killableCommand(input.command, {
      ...(input.env ? { env: input.env } : {}),
      ...(input.cwd !== undefined ? { cwd: input.cwd } : {}),
      ...(input.sudo ? { sudo: true } : {}),
    });
    let answer: ExecAnswer;
    try {
      const result = await withHeartbeat(
        onProgress,
        `exec on ${input.vm}`,
        handle.exec(command.line, {
          timeoutMs,
          signal,
          maxOutputBytes: input.maxOutputBytes ?? LIMITS.defaultOutputBytes,
          ...(input.stdin !== undefined ? { stdin: input.stdin } : {}),
        }),
      );
      answer = { ...result, command: command.shown, truncated: result.truncated ?? { stdout: false, stderr: false }, timedOut: false };
    } catch (error) {
      const stopped = error instanceof ExecTimeoutError || (isTestenvError(error) && error.code === "CANCELLED");
      // The channel is gone, but the command may not be: kill it on the guest before answering.
      if (stopped) await command.kill(handle);
      if (!(error instanceof ExecTimeoutError)) throw error;
      answer = { command: command.shown, exitCode: null, stdout: error.stdout, stderr: error.stderr, truncated: error.truncated, timedOut: true };
    }
    const durationMs = Date.now() - started;
    // The command's shape, not its output: an agent's audit trail in the environment's log.
    log.info(`${summary(input.vm, answer, durationMs)}: ${answer.command.slice(0, 200)}`);
    return {
      content: [{ type: "text", text: summary(input.vm, answer, durationMs) }, ...tail("stdout", answer.stdout), ...tail("stderr", answer.stderr)],
      structuredContent: { vm: input.vm, ...answer, durationMs },
    };
  },
};
