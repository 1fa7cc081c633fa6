import { z } from "zod";
import { VMSpec } from "../../api/spec.js";
import { asObject, checkTestID, parseVMArgs, parseWith } from "./inputs.js";

// Arguments of the tools that work inside one VM of an environment (exec, files, console, runtime VMs). None takes a
// stateDir: an agent reaches only the environments of the server's own state dir.

const KiB = 1024;
const MiB = 1024 * KiB;

/** Caps on what one call may move: large enough for real work, small enough that no call exhausts the server. */
export const LIMITS = {
  defaultOutputBytes: 256 * KiB,
  maxOutputBytes: 16 * MiB,
  defaultReadBytes: 4 * MiB,
  maxReadBytes: 16 * MiB,
  /** base64 of 16 MiB */
  maxWriteChars: Math.ceil((16 * MiB) / 3) * 4,
  maxStdinChars: 4 * MiB,
  maxArgChars: 256 * KiB,
  maxArgs: 4096,
  defaultExecSeconds: 120,
  maxExecSeconds: 3600,
  defaultConsoleLines: 100,
  maxConsoleLines: 10_000,
} as const;

const TEST_ID = z.string().describe("Environment id given to create.");
const VM = z.string().min(1).max(253).describe("The VM's name in the spec (or as given to vm-add), not its provider name.");
const REMOTE_PATH = z.string().min(1).max(4096).describe("Path on the VM; a relative path (or ~/...) is relative to the login user's home.");

export const ExecInput = z.strictObject({
  testID: TEST_ID,
  vm: VM,
  command: z
    .union([z.string().min(1).max(LIMITS.maxArgChars), z.array(z.string().max(LIMITS.maxArgChars)).min(1).max(LIMITS.maxArgs)], {
      error: `a shell string, or argv: an array of strings (1-${LIMITS.maxArgs} elements; strings non-empty, at most ${LIMITS.maxArgChars} characters)`,
    })
    .describe("A shell string run by the login shell as written, or argv: each element arrives as exactly one argument."),
  env: z.record(z.string().max(256), z.string().max(LIMITS.maxArgChars)).optional().describe("Environment variables for the command."),
  cwd: z.string().min(1).max(4096).optional().describe("Directory on the VM to run in."),
  sudo: z.boolean().optional().describe("Run as root through `sudo -n` (fails instead of asking for a password)."),
  stdin: z.string().max(LIMITS.maxStdinChars).optional().describe("Text fed to the command's standard input, then closed."),
  timeoutSeconds: z
    .number()
    .positive()
    .max(LIMITS.maxExecSeconds)
    .optional()
    .describe(`Kill the command after this long (default ${LIMITS.defaultExecSeconds}); the result then has timedOut: true.`),
  maxOutputBytes: z
    .number()
    .int()
    .min(0)
    .max(LIMITS.maxOutputBytes)
    .optional()
    .describe(`Keep at most this many bytes of stdout and of stderr each (default ${LIMITS.defaultOutputBytes}); truncated says which was cut.`),
});
export type ExecInput = z.infer<typeof ExecInput>;

export const ExecOutput = z.object({
  vm: z.string(),
  command: z.string().describe("The line sent to the VM (without the kill wrapper), each env value shown as <redacted>."),
  exitCode: z.number().int().nullable().describe("null when the command was killed by a signal or timed out."),
  signal: z.string().optional(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.object({ stdout: z.boolean(), stderr: z.boolean() }),
  timedOut: z.boolean(),
  durationMs: z.number().int(),
});

export const ReadFileInput = z.strictObject({
  testID: TEST_ID,
  vm: VM,
  path: REMOTE_PATH,
  maxBytes: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxReadBytes)
    .optional()
    .describe(`Refuse files larger than this (default ${LIMITS.defaultReadBytes} bytes).`),
  encoding: z.enum(["auto", "utf8", "base64"]).optional().describe("auto (default): utf8 for text, base64 for anything that is not valid UTF-8 text."),
});
export type ReadFileInput = z.infer<typeof ReadFileInput>;

export const FileOutput = z.object({
  vm: z.string(),
  path: z.string(),
  size: z.number().int(),
  sha256: z.string(),
});

export const ReadFileOutput = FileOutput.extend({
  encoding: z.enum(["utf8", "base64"]),
  content: z.string(),
});

const MODE = z
  .union([z.number().int().min(0).max(0o7777), z.string().regex(/^0?[0-7]{3,4}$/, "an octal mode such as \"0644\" or \"755\"")])
  .describe('File mode: octal string ("0755") or number (493).');

export const WriteFileInput = z.strictObject({
  testID: TEST_ID,
  vm: VM,
  path: REMOTE_PATH,
  content: z.string().max(LIMITS.maxWriteChars).describe("The file's content (replaces the file)."),
  encoding: z.enum(["utf8", "base64"]).optional().describe("How content is encoded (default utf8)."),
  mode: MODE.optional(),
});
export type WriteFileInput = z.infer<typeof WriteFileInput>;

export const CopyInput = z.strictObject({
  testID: TEST_ID,
  vm: VM,
  direction: z.enum(["to-vm", "from-vm"]).describe("to-vm: host file → VM; from-vm: VM file → host."),
  hostPath: z
    .string()
    .min(1)
    .max(4096)
    .describe("Host path: relative paths are inside the environment's artifact dir; absolute ones must be inside it or a directory the server allows."),
  vmPath: REMOTE_PATH,
});
export type CopyInput = z.infer<typeof CopyInput>;

export const CopyOutput = FileOutput.extend({
  direction: z.enum(["to-vm", "from-vm"]),
  hostPath: z.string(),
});

export const ConsoleInput = z.strictObject({
  testID: TEST_ID,
  vm: VM,
  lines: z.number().int().min(1).max(LIMITS.maxConsoleLines).optional().describe(`How many of the last lines (default ${LIMITS.defaultConsoleLines}).`),
  since: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Only what was written after this byte offset: pass the `offset` of the previous answer to follow the log."),
});
export type ConsoleInput = z.infer<typeof ConsoleInput>;

export const ConsoleOutput = z.object({
  vm: z.string(),
  source: z.string().describe("Where the console log was read: the host file the provider writes it to."),
  lines: z.array(z.string()),
  offset: z.number().int().describe("Size of the log when read: pass it as `since` to get only what comes next."),
  truncated: z.boolean().describe("Older lines exist beyond the ones returned."),
});

export const VMAddInput = z.strictObject({
  testID: TEST_ID,
  vm: z.string().min(1).max(63).describe("The new VM's name in the environment (prefixed for the provider like spec VMs)."),
  spec: VMSpec.describe("The VM's spec exactly as under vms[].spec in forge.yaml; templates such as {{ .Keys.<key>.PublicKey }} are rendered."),
  provider: z.string().min(1).optional().describe("Provider for the VM (default: the environment's default provider)."),
  providerSpec: z.record(z.string(), z.unknown()).optional(),
});
export type VMAddInput = z.infer<typeof VMAddInput>;

export const VMRemoveInput = z.strictObject({
  testID: TEST_ID,
  vm: z.string().min(1).max(63).describe("A VM added with vm-add (VMs of the spec go away with delete)."),
});
export type VMRemoveInput = z.infer<typeof VMRemoveInput>;

export const parseExecArgs = (raw: unknown): ExecInput => parseVMArgs(ExecInput, raw);
export const parseReadFileArgs = (raw: unknown): ReadFileInput => parseVMArgs(ReadFileInput, raw);
export const parseWriteFileArgs = (raw: unknown): WriteFileInput => parseVMArgs(WriteFileInput, raw);
export const parseCopyArgs = (raw: unknown): CopyInput => parseVMArgs(CopyInput, raw);
export const parseConsoleArgs = (raw: unknown): ConsoleInput => parseVMArgs(ConsoleInput, raw);
export const parseVMAddArgs = (raw: unknown): VMAddInput => parseVMArgs(VMAddInput, raw);
export const parseVMRemoveArgs = (raw: unknown): VMRemoveInput => parseVMArgs(VMRemoveInput, raw);

export const LogsInput = z.strictObject({
  testID: TEST_ID,
  level: z.enum(["debug", "info", "warn", "error"]).optional().describe("Lowest level to show (default info)."),
  resource: z
    .string()
    .min(1)
    .max(253)
    .optional()
    .describe("Only lines about this resource: its name in the spec (its provider name, with the prefix, matches too)."),
  source: z.enum(["all", "orchestrator", "providers"]).optional().describe("Whose lines (default all)."),
  lines: z.number().int().min(1).max(5000).optional().describe("How many of the last matching lines (default 200)."),
});
export type LogsInput = z.infer<typeof LogsInput>;

export const LogsOutput = z.object({
  testID: z.string(),
  entries: z.array(
    z.object({
      source: z.string().describe('"orchestrator", or "provider:<name>".'),
      time: z.string().optional(),
      level: z.string(),
      namespace: z.string().optional(),
      message: z.string(),
    }),
  ),
  truncated: z.boolean().describe("Older matching lines exist beyond the ones returned."),
  files: z.array(z.string()).describe("The log files read."),
});

export const parseLogsArgs = (raw: unknown): LogsInput => {
  const input = parseWith(LogsInput, asObject(raw));
  checkTestID(input.testID);
  return input;
};
