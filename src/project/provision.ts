import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { stringify as toYaml } from "yaml";
import { TestenvError } from "../errors.js";
import { sshArgs, sshOptions, type SshEndpoint } from "./ssh-command.js";

// Provisioning runs once after the instance is first ready: a `.yml`/`.yaml` playbook with ansible-playbook against
// an inventory made for the instance, anything else copied to the guest over SSH and run there (its shebang, or
// sh without one). Output streams to the terminal and into .testenv-vm/provision.log. A failure names the step.

export type ProvisionKind = "ansible" | "script";

export function provisionKind(script: string): ProvisionKind {
  return [".yml", ".yaml"].includes(extname(script).toLowerCase()) ? "ansible" : "script";
}

export interface ProvisionOptions {
  /** Absolute path of the script or playbook. */
  scriptPath: string;
  /** As written in .env, for messages. */
  scriptName: string;
  instance: string;
  endpoint: SshEndpoint;
  /** Where the generated Ansible inventory goes (the project's .testenv-vm/). */
  workDir: string;
  logPath: string;
  /** The terminal (or nothing, with --json). */
  echo?: NodeJS.WritableStream;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

const TAIL_LINES = 15;

interface RunOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/** Runs a command, teeing its output to the terminal and the log, keeping the lines for the failure message. */
function runTeed(command: string, args: readonly string[], options: ProvisionOptions, stdin?: Buffer): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(options.logPath, { flags: "a", mode: 0o600 });
    log.write(`\n=== ${new Date().toISOString()} ${command} ${options.scriptName}\n`);
    const child = spawn(command, [...args], {
      stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: options.env ?? process.env,
      ...(options.signal ? { signal: options.signal, killSignal: "SIGTERM" as const } : {}),
    });
    const lines: string[] = [];
    let partial = "";
    const take = (chunk: Buffer) => {
      options.echo?.write(chunk);
      log.write(chunk);
      partial += chunk.toString("utf8");
      const complete = partial.split("\n");
      partial = complete.pop() ?? "";
      lines.push(...complete);
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    child.on("error", (error) => {
      log.end();
      reject(error);
    });
    child.on("close", (exitCode, signal) => {
      if (partial !== "") lines.push(partial);
      log.end(() => resolve({ exitCode, signal, lines }));
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

// The script arrives on stdin, lands in a private temp file and runs from there: the kernel honours its shebang,
// and sh runs one without (a file that execve refuses is read by the shell itself).
const RUN_UPLOADED = 'f=$(mktemp) && cat > "$f" && chmod 700 "$f" && "$f"; rc=$?; rm -f "$f"; exit $rc';

async function runScript(options: ProvisionOptions): Promise<void> {
  const content = await readFile(options.scriptPath);
  const outcome = await runTeed("ssh", sshArgs(options.endpoint, { command: ["sh", "-c", `'${RUN_UPLOADED}'`] }), options, content);
  if (outcome.exitCode === 0) return;
  const tail = outcome.lines.filter((line) => line.trim() !== "").slice(-TAIL_LINES).join("\n");
  const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? "a signal"}` : `exited with ${outcome.exitCode}`;
  throw new TestenvError(
    "PROVISION_FAILED",
    `provisioning ${options.instance} failed: ${options.scriptName} ${how}; the instance is kept for debugging ` +
      `(testenv-vm ssh), fix the script and run testenv-vm provision. Full output: ${options.logPath}` +
      (tail ? `\n--- last lines ---\n${tail}` : ""),
    { details: { step: options.scriptName, exitCode: outcome.exitCode, log: options.logPath } },
  );
}

/** The failing task and its message, read from ansible-playbook's default output. */
export function ansibleFailure(lines: readonly string[]): { task?: string; message?: string } {
  let task: string | undefined;
  for (const line of lines) {
    const taskMatch = /^TASK \[(.*)\]/.exec(line);
    if (taskMatch) task = taskMatch[1];
    const failed = /^(?:fatal|failed): \[[^\]]+\]:? (?:FAILED!|UNREACHABLE!) => (.*)$/.exec(line);
    if (failed) {
      const body = failed[1] ?? "";
      let message = body;
      try {
        const parsed = JSON.parse(body) as { msg?: unknown };
        if (typeof parsed.msg === "string") message = parsed.msg;
      } catch {
        // not JSON: keep the raw text
      }
      return { ...(task === undefined ? {} : { task }), message };
    }
  }
  return task === undefined ? {} : { task };
}

async function runPlaybook(options: ProvisionOptions): Promise<void> {
  const { endpoint } = options;
  const inventory = join(options.workDir, "ansible-inventory.yml");
  const host = {
    ansible_host: endpoint.host,
    ansible_port: endpoint.port,
    ansible_user: endpoint.user,
    ansible_ssh_private_key_file: endpoint.privateKeyPath,
    ansible_ssh_common_args: sshOptions(endpoint).join(" "),
  };
  await writeFile(inventory, toYaml({ all: { hosts: { [options.instance]: host } } }), { mode: 0o600 });
  const env = {
    ...(options.env ?? process.env),
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_RETRY_FILES_ENABLED: "0",
    ANSIBLE_PYTHON_INTERPRETER: "auto_silent",
    // Ansible's default keeps an ssh master running for 60 s after the playbook; nothing of ours outlives a verb.
    ANSIBLE_SSH_ARGS: "-o ControlMaster=no",
  };
  let outcome: RunOutcome;
  try {
    outcome = await runTeed("ansible-playbook", ["-i", inventory, options.scriptPath], { ...options, env });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new TestenvError("PROVISION_FAILED", `PROVISION_SCRIPT ${options.scriptName} is a playbook, but ansible-playbook is not installed; install ansible-core (apt-get install ansible-core)`, { cause: error });
    }
    throw error;
  }
  if (outcome.exitCode === 0) return;
  const failure = ansibleFailure(outcome.lines);
  const where = failure.task === undefined ? "" : ` at task "${failure.task}"`;
  throw new TestenvError(
    "PROVISION_FAILED",
    `provisioning ${options.instance} failed${where}: ${failure.message ?? `ansible-playbook exited with ${String(outcome.exitCode)}`}; ` +
      `the instance is kept for debugging (testenv-vm ssh), fix the playbook and run testenv-vm provision. Full output: ${options.logPath}`,
    { details: { step: failure.task ?? options.scriptName, exitCode: outcome.exitCode, log: options.logPath } },
  );
}

export async function provision(options: ProvisionOptions): Promise<ProvisionKind> {
  const kind = provisionKind(options.scriptPath);
  if (kind === "ansible") await runPlaybook(options);
  else await runScript(options);
  return kind;
}
