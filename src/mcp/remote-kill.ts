import { randomBytes } from "node:crypto";
import { buildRemoteCommand, quoteShellArg, type RemoteCommandOptions } from "../client/shell-command.js";
import type { VmHandle } from "../client/vm-handle.js";

// A command an agent can stop. Closing the SSH channel, or the SSH "signal" request, does not stop a command on
// every server (dropbear supports neither), so each command records the PID of the shell that runs it in a file
// on the guest, and a timeout or a cancel kills that shell's process group (OpenSSH makes it a session leader)
// and its children and itself, from a second channel.

export interface KillableCommand {
  /** The line to run: the wrapper, then the command as buildRemoteCommand makes it. */
  line: string;
  /** The command as results and logs show it: without the wrapper, and with each env value replaced by <redacted>. */
  shown: string;
  /** Kills what is left of the command on the guest; never throws. */
  kill(handle: VmHandle): Promise<void>;
}

const REDACTED = "<redacted>";

export function killableCommand(command: string | readonly string[], options: RemoteCommandOptions): KillableCommand {
  // An env value is often a token the agent hands the command: the result and the environment's log name the
  // variable, never its value.
  const shown = buildRemoteCommand(command, options.env ? { ...options, env: Object.fromEntries(Object.keys(options.env).map((key) => [key, REDACTED])) } : options);
  const run = buildRemoteCommand(command, options);
  const pidFile = quoteShellArg(`/tmp/.testenv-vm-exec-${randomBytes(8).toString("hex")}`);
  // The trap keeps the command's exit status; a killed shell leaves its file to the kill below.
  const line = `echo $$ > ${pidFile}; trap 'rm -f ${pidFile}' EXIT\n${run}`;
  // The group when the shell leads one; else its children, found through /proc (pkill is not on every guest).
  const killScript =
    `p=$(cat ${pidFile} 2>/dev/null) || exit 0; rm -f ${pidFile}; kill -KILL -- "-$p" 2>/dev/null; ` +
    `for s in /proc/[0-9]*/stat; do set -- $(cat "$s" 2>/dev/null); [ "$4" = "$p" ] && kill -KILL "$1" 2>/dev/null; done; ` +
    `kill -KILL "$p" 2>/dev/null; exit 0`;
  return {
    line,
    shown,
    kill: async (handle) => {
      await handle.exec(options.sudo ? ["sudo", "-n", "sh", "-c", killScript] : killScript, { timeoutMs: 15_000 }).catch(() => undefined);
    },
  };
}
