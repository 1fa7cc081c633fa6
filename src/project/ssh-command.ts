// The `ssh` argv for an instance: its key, its own known_hosts (trust on first use by OpenSSH itself), and no
// prompts, so that the ssh verb, the script provisioner and Ansible all log in the same way.

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  knownHostsPath: string;
}

/** `-o` options shared by ssh and Ansible (ansible_ssh_common_args). */
export function sshOptions(endpoint: SshEndpoint): string[] {
  return [
    "-o", `UserKnownHostsFile=${endpoint.knownHostsPath}`,
    "-o", "StrictHostKeyChecking=accept-new",
    "-o", "IdentitiesOnly=yes",
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=10",
    "-o", "LogLevel=ERROR",
  ];
}

/** argv after `ssh`: options, key, port, user@host, then the remote command words if any. */
export function sshArgs(endpoint: SshEndpoint, options: { tty?: boolean; command?: readonly string[] } = {}): string[] {
  const args = [...sshOptions(endpoint), "-i", endpoint.privateKeyPath, "-p", String(endpoint.port)];
  if (options.tty === true) args.push("-t");
  args.push(`${endpoint.user}@${endpoint.host}`);
  if (options.command !== undefined && options.command.length > 0) args.push("--", ...options.command);
  return args;
}

/** A single line a person can paste, each word quoted for a POSIX shell. */
export function sshCommandLine(endpoint: SshEndpoint): string {
  return ["ssh", ...sshArgs(endpoint)].map(shellWord).join(" ");
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
