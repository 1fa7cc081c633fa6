import { spawn } from "node:child_process";
import { TestenvError } from "../../errors.js";
import type { CommandDefinition } from "../command.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { PROJECT_FLAGS } from "../flags.js";
import { writeJson } from "../output.js";
import { booleanFlag } from "../args.js";
import { openProject } from "../project.js";

/** The real ssh, inheriting the terminal; its exit code becomes ours (255 = ssh itself failed). */
function runSsh(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...args], { stdio: "inherit" });
    child.on("error", (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? new TestenvError("SSH_ERROR", "ssh is not installed; install openssh-client (apt-get install openssh-client)", { cause: error })
          : error,
      ),
    );
    child.on("close", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 255)));
  });
}

export const sshCommand: CommandDefinition = {
  name: "ssh",
  summary: "project folder: a shell in the instance, or `ssh -- CMD...` to run one command",
  usage: "testenv-vm ssh [--dir folder] [-- command args...]   (--json prints how to connect instead)",
  flags: PROJECT_FLAGS,
  async run(context) {
    const { instance } = await openProject(context);
    const { sshArgs, sshCommandLine } = await import("../../project/ssh-command.js");
    if (booleanFlag(context.args.flags, "json")) {
      const live = await instance.sshEndpoint();
      writeJson(context, { ...live, command: sshCommandLine(live) });
      return EXIT.ok;
    }
    // The recorded address first: no provider process on the way to a shell.
    const recorded = await instance.recordedSshEndpoint();
    const endpoint = recorded ?? (await instance.sshEndpoint());
    const command = context.args.positionals;
    const code = await runSsh(sshArgs(endpoint, { tty: command.length === 0, command }));
    // ssh itself failed on the recorded address: if the instance is no longer running, say so (this throws) rather
    // than leave ssh's bare "connection refused". The command is never run a second time.
    if (code === 255 && recorded !== undefined) await instance.sshEndpoint();
    // A remote command's exit code passes through unchanged, as with ssh itself.
    return code as ExitCode;
  },
};
