import type { ProviderVMSpec } from "../../api/provider.js";

// The part of cloud-init a container can honour (users with their keys, sudo rules and shells), as a POSIX sh
// script the provider bind-mounts into the container and runs before the image's own command. It is idempotent,
// because it runs again at every start; the container's own filesystem, and with it everything the workload
// wrote, survives stop and start.

export const INIT_PATH = "/usr/local/lib/testenv-vm/init.sh";

export interface ContainerUser {
  name: string;
  sudo?: string | undefined;
  shell?: string | undefined;
  homeDir?: string | undefined;
  groups?: string[] | undefined;
  authorizedKeys: string[];
}

/** 'value' for sh, with embedded single quotes closed and escaped. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

export function usersOf(cloudInit: ProviderVMSpec["cloudInit"]): ContainerUser[] {
  return (cloudInit?.users ?? []).map((user) => ({
    name: user.name,
    sudo: user.sudo,
    shell: user.shell,
    homeDir: user.homeDir,
    groups: user.groups,
    authorizedKeys: user.sshAuthorizedKeys ?? [],
  }));
}

/** Problems with the users that would otherwise fail inside the container, each naming its field. */
export function userProblems(users: readonly ContainerUser[]): string[] {
  return users.flatMap((user, i) => (USER_NAME.test(user.name) ? [] : [`spec.cloudInit.users[${i}].name: "${user.name}" is not a Unix user name`]));
}

function userLines(user: ContainerUser): string[] {
  const name = shQuote(user.name);
  if (user.name === "root") {
    return [`install -d -m 700 /root/.ssh`, `printf '%s\\n' ${user.authorizedKeys.map(shQuote).join(" ")} > /root/.ssh/authorized_keys`, `chmod 600 /root/.ssh/authorized_keys`];
  }
  const home = user.homeDir ?? `/home/${user.name}`;
  const lines = [
    `id -u ${name} >/dev/null 2>&1 || useradd -m -d ${shQuote(home)} -s ${shQuote(user.shell ?? "/bin/sh")} ${name}`,
    // A locked password ("!") makes some sshd builds refuse even key logins; "*" means "no password" instead.
    `usermod -p '*' ${name}`,
    ...(user.groups ?? []).map((group) => `getent group ${shQuote(group)} >/dev/null || groupadd ${shQuote(group)}; usermod -aG ${shQuote(group)} ${name}`),
    `install -d -m 700 -o ${name} -g ${name} ${shQuote(`${home}/.ssh`)}`,
  ];
  if (user.authorizedKeys.length > 0) {
    const file = shQuote(`${home}/.ssh/authorized_keys`);
    lines.push(`printf '%s\\n' ${user.authorizedKeys.map(shQuote).join(" ")} > ${file}`, `chown ${name}: ${file}`, `chmod 600 ${file}`);
  }
  if (user.sudo !== undefined) {
    const file = shQuote(`/etc/sudoers.d/testenv-${user.name}`);
    lines.push(`install -d -m 755 /etc/sudoers.d`, `printf '%s\\n' ${shQuote(`${user.name} ${user.sudo}`)} > ${file}`, `chmod 440 ${file}`);
  }
  return lines;
}

export function renderInitScript(users: readonly ContainerUser[]): string {
  return [
    "#!/bin/sh",
    "# Written by testenv-vm's podman provider; runs at every container start, then execs the container's command.",
    "set -e",
    ...users.flatMap(userLines),
    'exec "$@"',
    "",
  ].join("\n");
}
